"""The scenarios on the simulated Atlassian Cloud, by name."""

from .jira_issue_triage import SCENARIO as JIRA_ISSUE_TRIAGE
from .jira_labels import SCENARIO as JIRA_LABELS
from .jira_ticket_transition import SCENARIO as JIRA_TICKET_TRANSITION

SCENARIOS = {s.name: s for s in (JIRA_ISSUE_TRIAGE, JIRA_TICKET_TRANSITION, JIRA_LABELS)}
