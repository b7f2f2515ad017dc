"""The five scenarios on the simulated Atlassian Cloud, by name."""

from .jira_labels import SCENARIO as JIRA_LABELS

SCENARIOS = {s.name: s for s in (JIRA_LABELS,)}
