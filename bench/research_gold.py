"""Writes bench/data/research_dev.json: my questions and answers, each gold quote cut from the page text the real
fetcher extracts (whitespace normalised), so every quote is an exact substring of what Sophia reads."""

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.research_corpus import CorpusIndex, CorpusService, CorpusTransport, corpus_resolver  # noqa: E402

from sophia.research import PageReader, normalise  # noqa: E402
from sophia.tools import WebFetcher, WebFetchSettings  # noqa: E402

P = "https://www.postgresql.org/docs/15/"
S = "https://sqlite.org/"
G = "https://git-scm.com/docs/"
Y = "https://docs.python.org/3.11/"
K = "https://www.kernel.org/doc/html/v6.1/"
CANDIDATES = [  # (kind, question, answer, [(url, phrase on the page)])
    (
        "single",
        "What vm.overcommit_memory value does PostgreSQL 15 recommend on Linux?",
        "2",
        [(P + "kernel-resources.html", "sysctl -w vm.overcommit_memory")],
    ),
    (
        "single",
        "What is the default value of the Linux kernel's overcommit_memory sysctl?",
        "0",
        [(K + "admin-guide/sysctl/vm.html", "default value is 0")],
    ),
    (
        "single",
        "In SQLite WAL mode, do readers block writers?",
        "no",
        [(S + "wal.html", "readers do not block writers")],
    ),
    (
        "single",
        "What does the SQLite VACUUM command do to the database file?",
        "rebuilds it",
        [(S + "lang_vacuum.html", "rebuilds the database file")],
    ),
    (
        "single",
        "Are foreign key constraints enabled by default in SQLite?",
        "no",
        [(S + "foreignkeys.html", "disabled by default")],
    ),
    (
        "single",
        "What does the SQLite AUTOINCREMENT keyword cost?",
        "extra CPU, memory, disk space and disk I/O overhead",
        [(S + "autoinc.html", "imposes extra CPU")],
    ),
    (
        "single",
        "What is the default transaction isolation level in PostgreSQL 15?",
        "Read Committed",
        [(P + "transaction-iso.html", "default isolation level")],
    ),
    (
        "single",
        "What does VACUUM reclaim in PostgreSQL 15?",
        "storage occupied by dead tuples",
        [(P + "sql-vacuum.html", "dead tuples")],
    ),
    (
        "single",
        "What does the shared_buffers setting control in PostgreSQL 15?",
        "memory for shared memory buffers",
        [(P + "runtime-config-resource.html", "shared memory buffers")],
    ),
    (
        "single",
        "What is the default max_connections in PostgreSQL 15?",
        "100",
        [(P + "runtime-config-connection.html", "typically 100")],
    ),
    (
        "single",
        "How does PostgreSQL 15 store jsonb data?",
        "decomposed binary format",
        [(P + "datatype-json.html", "decomposed binary format")],
    ),
    (
        "single",
        "What does git rebase --autosquash do with fixup! commits?",
        "moves and squashes them",
        [(G + "git-rebase", "fixup!")],
    ),
    (
        "single",
        "What search does git bisect use to find the commit that introduced a bug?",
        "binary search",
        [(G + "git-bisect", "binary search")],
    ),
    (
        "single",
        "What does git stash do?",
        "stashes the changes in a dirty working directory",
        [(G + "git-stash", "working directory")],
    ),
    (
        "single",
        "What does git cherry-pick do?",
        "applies the changes introduced by existing commits",
        [(G + "git-cherry-pick", "changes introduced by some existing commits")],
    ),
    ("single", "What does git reflog manage?", "reference logs", [(G + "git-reflog", "reference logs")]),
    (
        "single",
        "What does git worktree manage?",
        "multiple working trees",
        [(G + "git-worktree", "multiple working trees")],
    ),
    (
        "single",
        "What does git gc do?",
        "cleans up unnecessary files and optimizes the repository",
        [(G + "git-gc", "optimize")],
    ),
    (
        "single",
        "What does asyncio.timeout return in Python 3.11?",
        "an asynchronous context manager",
        [(Y + "library/asyncio-task.html", "asynchronous context manager")],
    ),
    ("single", "Which Python 3.11 module parses TOML?", "tomllib", [(Y + "library/tomllib.html", "TOML")]),
    (
        "single",
        "What does functools.lru_cache do in Python 3.11?",
        "memoizing callable with a least-recently-used cache",
        [(Y + "library/functools.html", "least recently used")],
    ),
    (
        "single",
        "How much faster is Python 3.11 than 3.10?",
        "10-60%",
        [(Y + "whatsnew/3.11.html", "faster than Python 3.10")],
    ),
    (
        "single",
        "What does the Python secrets module generate?",
        "cryptographically strong random numbers",
        [(Y + "library/secrets.html", "cryptographically strong random")],
    ),
    (
        "single",
        "What does ExceptionGroup hold in Python 3.11?",
        "a group of exceptions",
        [(Y + "library/exceptions.html", "ExceptionGroup")],
    ),
    (
        "single",
        "What does the Linux swappiness sysctl control?",
        "how aggressively the kernel swaps",
        [(K + "admin-guide/sysctl/vm.html", "swappiness")],
    ),
    (
        "single",
        "What does memory.max set in cgroup v2?",
        "the memory usage hard limit",
        [(K + "admin-guide/cgroup-v2.html", "memory usage hard limit")],
    ),
    (
        "single",
        "What does the file-max sysctl set in Linux?",
        "the maximum number of file-handles",
        [(K + "admin-guide/sysctl/fs.html", "file-handles")],
    ),
    (
        "single",
        "What does oom_score_adj change in Linux?",
        "the badness heuristic for the OOM killer",
        [(K + "filesystems/proc.html", "oom_score_adj")],
    ),
    (
        "single",
        "What are Transparent Hugepages in Linux 6.1?",
        "huge pages used transparently",
        [(K + "admin-guide/mm/transhuge.html", "Transparent Hugepage")],
    ),
    (
        "single",
        "What SQLite PRAGMA sets the journal mode?",
        "journal_mode",
        [(S + "pragma.html", "journal_mode")],
    ),
    ("single", "What does git tag create?", "a tag object", [(G + "git-tag", "tag object")]),
    (
        "single",
        "What does git blame show?",
        "what revision and author last modified each line",
        [(G + "git-blame", "last modified")],
    ),
    ("single", "What does git clean remove?", "untracked files", [(G + "git-clean", "untracked files")]),
    (
        "single",
        "What does SQLite's ANALYZE command gather?",
        "statistics about tables and indices",
        [(S + "lang_analyze.html", "statistics")],
    ),
    (
        "single",
        "What does the PostgreSQL 15 EXPLAIN command show?",
        "the execution plan",
        [(P + "sql-explain.html", "execution plan")],
    ),
    (
        "single",
        "What does CREATE INDEX CONCURRENTLY avoid in PostgreSQL 15?",
        "locking out writes",
        [(P + "sql-createindex.html", "CONCURRENTLY")],
    ),
    (
        "single",
        "What does the Python 3.11 zoneinfo module provide?",
        "IANA time zone support",
        [(Y + "library/zoneinfo.html", "IANA")],
    ),
    (
        "single",
        "What does Python's contextlib.suppress do?",
        "suppresses specified exceptions",
        [(Y + "library/contextlib.html", "suppress")],
    ),
    (
        "single",
        "What does the SQLite STRICT table option enforce?",
        "rigid type enforcement",
        [(S + "stricttables.html", "STRICT")],
    ),
    (
        "single",
        "What does PostgreSQL 15's MERGE command do?",
        "conditionally insert, update or delete rows",
        [(P + "sql-merge.html", "MERGE")],
    ),
    (
        "pair",
        "Which vm.overcommit_memory value does PostgreSQL 15 recommend on Linux, and what is the kernel's default?",
        "2; 0",
        [
            (P + "kernel-resources.html", "sysctl -w vm.overcommit_memory"),
            (K + "admin-guide/sysctl/vm.html", "default value is 0"),
        ],
    ),
    (
        "pair",
        "What does VACUUM do in PostgreSQL 15 and what does VACUUM do in SQLite?",
        "reclaims dead tuples; rebuilds the file",
        [(P + "sql-vacuum.html", "dead tuples"), (S + "lang_vacuum.html", "rebuilds the database file")],
    ),
    (
        "pair",
        "How does write-ahead logging work in PostgreSQL 15, and do readers block writers in SQLite WAL mode?",
        "log before data; no",
        [(P + "wal-intro.html", "central concept"), (S + "wal.html", "readers do not block writers")],
    ),
    (
        "pair",
        "What is the default isolation level in PostgreSQL 15, and what isolation does SQLite provide?",
        "Read Committed; serializable",
        [(P + "transaction-iso.html", "default isolation level"), (S + "isolation.html", "serializable")],
    ),
    (
        "pair",
        "What does the Python 3.11 sqlite3 module's isolation_level do, and are SQLite foreign keys on by default?",
        "controls implicit transactions; no",
        [(Y + "library/sqlite3.html", "isolation_level"), (S + "foreignkeys.html", "disabled by default")],
    ),
    (
        "pair",
        "What does git gc clean up, and what does the PostgreSQL 15 VACUUM reclaim?",
        "unnecessary files; dead tuples",
        [(G + "git-gc", "optimize"), (P + "sql-vacuum.html", "dead tuples")],
    ),
    (
        "pair",
        "What does asyncio.timeout return in Python 3.11, and what is the default statement_timeout in PostgreSQL 15?",
        "async context manager; 0 (disabled)",
        [
            (Y + "library/asyncio-task.html", "asynchronous context manager"),
            (P + "runtime-config-client.html", "statement_timeout"),
        ],
    ),
    (
        "fanout",
        "How do PostgreSQL 15, SQLite and Git reclaim space?",
        "VACUUM; VACUUM; gc",
        [
            (P + "sql-vacuum.html", "dead tuples"),
            (S + "lang_vacuum.html", "rebuilds the database file"),
            (G + "git-gc", "optimize"),
        ],
    ),
    (
        "fanout",
        "What does PostgreSQL 15 recommend for vm.overcommit_memory, what is the Linux default, and what does oom_score_adj do?",  # noqa: E501
        "2; 0; adjusts OOM badness",
        [
            (P + "kernel-resources.html", "sysctl -w vm.overcommit_memory"),
            (K + "admin-guide/sysctl/vm.html", "default value is 0"),
            (K + "filesystems/proc.html", "oom_score_adj"),
        ],
    ),
    (
        "fanout",
        "How do PostgreSQL 15, SQLite and Python 3.11 sqlite3 handle transaction isolation?",
        "Read Committed default; serializable; isolation_level",
        [
            (P + "transaction-iso.html", "default isolation level"),
            (S + "isolation.html", "serializable"),
            (Y + "library/sqlite3.html", "isolation_level"),
        ],
    ),
    (
        "fanout",
        "What do git stash, git worktree and git reflog each manage?",
        "dirty changes; working trees; reference logs",
        [
            (G + "git-stash", "working directory"),
            (G + "git-worktree", "multiple working trees"),
            (G + "git-reflog", "reference logs"),
        ],
    ),
    (
        "fanout",
        "What do the Linux sysctls swappiness, file-max and overcommit_memory control?",
        "swapping; file handles; overcommit",
        [
            (K + "admin-guide/sysctl/vm.html", "swappiness"),
            (K + "admin-guide/sysctl/fs.html", "file-handles"),
            (K + "admin-guide/sysctl/vm.html", "default value is 0"),
        ],
    ),
]


def _quote(text: str, phrase: str) -> str | None:
    """The sentence (at most ~450 characters) around the phrase, cut from the whitespace-normalised page text."""
    normal = normalise(text)
    at = normal.lower().find(phrase.lower())
    if at < 0:
        return None
    start = max(normal.rfind(". ", 0, at) + 2, at - 200, 0)
    end = normal.find(". ", at)
    end = len(normal) if end < 0 else min(end + 1, at + 250)
    return normal[start:end].strip()


async def main() -> None:
    index = CorpusIndex.build(Path("/"), Path(".cache/research-corpus.sqlite"))
    out = []
    with CorpusService(index) as corpus:
        fetcher = WebFetcher(WebFetchSettings(), resolver=corpus_resolver, transport=CorpusTransport(corpus))
        reader = PageReader(fetcher)
        for n, (kind, question, answer, wanted) in enumerate(CANDIDATES):
            gold = []
            for url, phrase in wanted:
                document = await reader.read(url, source="searxng")
                quote = _quote(document.text, phrase)
                if quote is None:
                    print("phrase not on the page, question left out:", url, phrase)
                    break
                gold.append({"url": url, "quote": quote[:300]})
            else:
                out.append(
                    {
                        "id": f"dev-{n + 1:02d}",
                        "kind": kind,
                        "question": question,
                        "answer": answer,
                        "answer_aliases": [],
                        "sources": gold,
                    }
                )
    print(len(out), "questions")
    Path("bench/data/research_dev.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
