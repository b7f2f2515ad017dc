"""The five scenarios on the simulated Atlassian Cloud, by name."""

from .confluence_page_create import SCENARIO as CONFLUENCE_PAGE_CREATE
from .jira_issue_create import SCENARIO as JIRA_ISSUE_CREATE
from .jira_issue_triage import SCENARIO as JIRA_ISSUE_TRIAGE
from .jira_labels import SCENARIO as JIRA_LABELS
from .jira_ticket_transition import SCENARIO as JIRA_TICKET_TRANSITION

SCENARIOS = {s.name: s for s in (JIRA_ISSUE_CREATE, JIRA_ISSUE_TRIAGE, JIRA_TICKET_TRANSITION, JIRA_LABELS,
                                 CONFLUENCE_PAGE_CREATE)}
