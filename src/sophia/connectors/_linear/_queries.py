"""The GraphQL documents the Linear connector sends (fields as Linear's public schema names them)."""

from __future__ import annotations

from sophia.connectors._linear._graphql import PAGE_INFO

ISSUE_FIELDS = (
    "id identifier title description url priority createdAt updatedAt completedAt canceledAt dueDate "
    "state { id name type } assignee { id name email } team { id key name } project { id name }"
)

TEAMS = f"query Teams($after: String) {{ teams(first: 100, after: $after) {{ nodes {{ id key name }} {PAGE_INFO} }} }}"

ISSUES = (
    "query Issues($first: Int!, $after: String, $filter: IssueFilter) {"
    " issues(first: $first, after: $after, filter: $filter, orderBy: updatedAt) {"
    f" nodes {{ {ISSUE_FIELDS} }} {PAGE_INFO} }} }}"
)

ISSUE_IDS = (
    f"query IssueIds($after: String) {{ issues(first: 250, after: $after) {{ nodes {{ id }} {PAGE_INFO} }} }}"
)

PROJECTS = (
    "query Projects($after: String) { projects(first: 50, after: $after) {"
    f" nodes {{ id name state progress targetDate url updatedAt }} {PAGE_INFO} }} }}"
)

CYCLES = (
    "query Cycles($after: String, $filter: CycleFilter) { cycles(first: 50, after: $after, filter: $filter) {"
    f" nodes {{ id number name startsAt endsAt progress team {{ key }} }} {PAGE_INFO} }} }}"
)

ISSUE_CREATE = (
    "mutation IssueCreate($input: IssueCreateInput!) { issueCreate(input: $input) {"
    f" success issue {{ {ISSUE_FIELDS} }} }} }}"
)

ISSUE_UPDATE = (
    "mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) {"
    f" success issue {{ {ISSUE_FIELDS} }} }} }}"
)

COMMENT_CREATE = (
    "mutation CommentCreate($input: CommentCreateInput!) { commentCreate(input: $input) {"
    " success comment { id body url createdAt } } }"
)

VIEWER = "query Viewer { viewer { id name email } }"
