"""The coding orchestrator: map a repository, edit it, run its checks, commit, push, open a draft PR, learn.

Only the shells import this package: they register its `code.*` tools and plug `CodingOrchestrator` into the
run worker as the `code` run kind.
"""

from sophia.coding._checks import Check, CheckResult, check_shell, detect_checks, failure_digest
from sophia.coding._delivery import (
    CheckRun,
    DeliveryFailed,
    Deployer,
    DeployResult,
    Deploys,
    FlyDeployer,
    InMemoryPullRequests,
    PullRequest,
    PullRequests,
    image_for,
    repository_slug,
)
from sophia.coding._edits import EditBlock, EditRefused, apply_block, check_edit_path, parse_blocks
from sophia.coding._github import GitHubDelivery, github_delivery
from sophia.coding._gitops import GitFailed, GitRunner
from sophia.coding._lessons import CodingLessons, repository_namespace
from sophia.coding._loop import CodingOptions, CodingResult, CodingTask
from sophia.coding._options import code_run_options, is_remote_url
from sophia.coding._orchestrator import CodeView, CodingOrchestrator, code_view, render_result
from sophia.coding._repomap import RankedFile, RepoMap, SummaryCache, estimate_tokens
from sophia.coding._session import CodeSession, ModelReply, ToolOutcome
from sophia.coding._setup import code_tools_for
from sophia.coding._symbols import FileSummary, Symbol, python_summary
from sophia.coding._tools import CodeTools, parse_edits, register_code_tools
from sophia.coding._treesitter import language_of, treesitter_summary
from sophia.coding._udiff import looks_like_diff, parse_unified_diff
from sophia.coding._weakening import SuiteStrength, is_test_file, suite_strength, weakened_tests

__all__ = [
    "Check",
    "CheckResult",
    "CheckRun",
    "CodeSession",
    "CodeTools",
    "CodeView",
    "CodingLessons",
    "CodingOptions",
    "CodingOrchestrator",
    "CodingResult",
    "CodingTask",
    "DeliveryFailed",
    "DeployResult",
    "Deployer",
    "Deploys",
    "FlyDeployer",
    "EditBlock",
    "EditRefused",
    "FileSummary",
    "GitFailed",
    "GitHubDelivery",
    "GitRunner",
    "InMemoryPullRequests",
    "ModelReply",
    "PullRequest",
    "PullRequests",
    "RankedFile",
    "RepoMap",
    "SuiteStrength",
    "SummaryCache",
    "Symbol",
    "ToolOutcome",
    "apply_block",
    "check_edit_path",
    "check_shell",
    "code_run_options",
    "code_view",
    "code_tools_for",
    "detect_checks",
    "estimate_tokens",
    "github_delivery",
    "image_for",
    "failure_digest",
    "is_remote_url",
    "is_test_file",
    "language_of",
    "looks_like_diff",
    "parse_blocks",
    "parse_edits",
    "parse_unified_diff",
    "python_summary",
    "register_code_tools",
    "render_result",
    "repository_namespace",
    "repository_slug",
    "suite_strength",
    "treesitter_summary",
    "weakened_tests",
]
