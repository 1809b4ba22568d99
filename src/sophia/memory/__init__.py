"""Memory: what Sophia remembers and how it recalls it (L1 cache, L2 indexes, L3 rows as source of truth)."""

from sophia.memory._cache import LruRecallCache, RecallCache
from sophia.memory._code import CodeSymbol
from sophia.memory._embedding import Embedder, EmbeddingModelUnavailable, HashingEmbedder
from sophia.memory._errors import EmbeddingMismatch, InvalidMemory, InvalidNamespace, MemoryNotFound
from sophia.memory._factory import default_embedder, memory_index_path, open_memory
from sophia.memory._graph import EntityView, GraphEdge
from sophia.memory._graph_extract import (
    Extraction,
    GraphExtractor,
    GraphOutputRefused,
    ModelGraphExtractor,
    RuleGraphExtractor,
    extract_rules,
)
from sophia.memory._keyword import KeywordIndex, SqliteKeywordIndex, fts_query, query_terms
from sophia.memory._learn import Decision, FactLearner, LearnOutputRefused, LearnReport
from sophia.memory._maintenance import ConsolidationReport, StartReport
from sophia.memory._minilm import MiniLMEmbedder
from sophia.memory._model import (
    Memory,
    MemoryKind,
    MemorySettings,
    MemoryStats,
    RecallHit,
    RecallReasons,
    Scope,
    Turn,
    check_namespace,
)
from sophia.memory._pg_keyword import PostgresKeywordIndex
from sophia.memory._pgvector import PgVectorIndex
from sophia.memory._qdrant import QdrantVectorIndex
from sophia.memory._query_dates import Period, periods_in
from sophia.memory._ranking import Gathered, rank_gathered
from sophia.memory._redis_cache import RedisRecallCache
from sophia.memory._schedule import ConsolidationSchedule
from sophia.memory._service import MemoryService
from sophia.memory._text_ranking import rank_texts
from sophia.memory._vector import NumpyVectorIndex, VectorEntry, VectorIndex
from sophia.memory._versions import PendingVersions, Version

__all__ = [
    "CodeSymbol",
    "ConsolidationReport",
    "ConsolidationSchedule",
    "Decision",
    "Embedder",
    "EmbeddingMismatch",
    "EmbeddingModelUnavailable",
    "EntityView",
    "Extraction",
    "FactLearner",
    "Gathered",
    "GraphEdge",
    "GraphExtractor",
    "GraphOutputRefused",
    "HashingEmbedder",
    "InvalidMemory",
    "InvalidNamespace",
    "KeywordIndex",
    "LearnOutputRefused",
    "LearnReport",
    "LruRecallCache",
    "Memory",
    "MemoryKind",
    "MemoryNotFound",
    "MemoryService",
    "MemorySettings",
    "MemoryStats",
    "MiniLMEmbedder",
    "ModelGraphExtractor",
    "NumpyVectorIndex",
    "PendingVersions",
    "Period",
    "PgVectorIndex",
    "PostgresKeywordIndex",
    "QdrantVectorIndex",
    "RecallCache",
    "RecallHit",
    "RecallReasons",
    "RedisRecallCache",
    "RuleGraphExtractor",
    "Scope",
    "SqliteKeywordIndex",
    "StartReport",
    "Turn",
    "VectorEntry",
    "VectorIndex",
    "Version",
    "check_namespace",
    "default_embedder",
    "extract_rules",
    "fts_query",
    "memory_index_path",
    "open_memory",
    "periods_in",
    "query_terms",
    "rank_gathered",
    "rank_texts",
]
