"""Research: many sources searched at once, pages read through the SSRF guard, claims verified against the
passages they cite, and reports whose citations are built by code from passage ids."""

from sophia.research._errors import (
    CitationRefused,
    ResearchBudgetSpent,
    ResearchError,
    SourceFailed,
    SourceKeyMissing,
    SourceTimeout,
    UnknownSource,
)
from sophia.research._factory import SOURCE_DEFAULTS, build_source, build_sources, page_reader
from sophia.research._http import IntervalLimiter, SourceHttp
from sophia.research._local_sources import LocalFolderSource, MemorySource
from sophia.research._model import Claim, Document, Passage, ResearchReport, SearchResult, Source, SubQuestion
from sophia.research._pages import PageReader
from sophia.research._passages import contains_quote, normalise, passage_id, split_passages, split_sentences
from sophia.research._pipeline import DEPTHS, Depth, ResearchPipeline, StepRunner, direct_step
from sophia.research._planning import split_question
from sophia.research._report import build_report
from sophia.research._scholarly_sources import ArxivSource, GitHubSource, PubMedSource, SemanticScholarSource
from sophia.research._service import ResearchService
from sophia.research._tools import register_research_tools
from sophia.research._urls import canonical_url
from sophia.research._verify import ClaimCheck, check_claim, coverage, support_score
from sophia.research._web_sources import (
    BraveSource,
    DuckDuckGoSource,
    ExaSource,
    NewsSource,
    PerplexitySource,
    SearxngSource,
    SerperSource,
    TavilySource,
    WebSource,
)
from sophia.research._writer import ModelWriter, parse_json_object

__all__ = [
    "DEPTHS",
    "SOURCE_DEFAULTS",
    "ArxivSource",
    "BraveSource",
    "CitationRefused",
    "Claim",
    "ClaimCheck",
    "Depth",
    "Document",
    "DuckDuckGoSource",
    "ExaSource",
    "GitHubSource",
    "IntervalLimiter",
    "LocalFolderSource",
    "MemorySource",
    "ModelWriter",
    "NewsSource",
    "PageReader",
    "Passage",
    "PerplexitySource",
    "PubMedSource",
    "ResearchBudgetSpent",
    "ResearchError",
    "ResearchPipeline",
    "ResearchReport",
    "ResearchService",
    "SearchResult",
    "SearxngSource",
    "SemanticScholarSource",
    "SerperSource",
    "Source",
    "SourceFailed",
    "SourceHttp",
    "SourceKeyMissing",
    "SourceTimeout",
    "StepRunner",
    "SubQuestion",
    "TavilySource",
    "UnknownSource",
    "WebSource",
    "build_report",
    "build_source",
    "build_sources",
    "canonical_url",
    "check_claim",
    "contains_quote",
    "coverage",
    "direct_step",
    "normalise",
    "page_reader",
    "parse_json_object",
    "passage_id",
    "register_research_tools",
    "split_passages",
    "split_question",
    "split_sentences",
    "support_score",
]
