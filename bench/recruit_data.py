"""Generated roles and resumes with planted matches, from a seed (for `bench/recruit.py` and the tests).

Per role: `planted` candidates meet every must-have, each on its own resume line in varied wording (half of them
also carry the role's title); `stuffers` name one must-have twice and every nice-to-have, half with the title (many
of the role's words, two must-haves missing); the others are resumes from other skills. The truth is the planted set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SKILLS = (
    "Python", "PostgreSQL", "Kubernetes", "Terraform", "React", "GraphQL", "Kafka", "Spark", "Airflow", "Rust",
    "Golang", "AWS", "GCP", "Docker", "Redis", "Django", "FastAPI", "PyTorch", "TensorFlow", "Tableau",
    "Salesforce", "HubSpot", "Snowflake", "dbt", "Elasticsearch", "TypeScript", "Swift", "Kotlin", "Figma",
    "Jenkins", "Ansible", "MongoDB", "Cassandra", "Flink", "Looker", "Prometheus", "Grafana", "Nginx", "Linux",
    "Scala",
)  # fmt: skip
TITLES = ("Backend Engineer", "Data Engineer", "Platform Engineer", "ML Engineer", "Analytics Lead", "SRE")
LEVELS = ("Senior", "Staff", "Lead", "Principal")
FIRST = ("Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jun", "Kemal", "Lena", "Mo")
LAST = ("Okafor", "Silva", "Novak", "Tanaka", "Berg", "Haddad", "Kowalski", "Moreau", "Rossi", "Singh")
_USED = (
    "Built production services in {s} for {n} years",
    "Led the migration to {s} across {n} teams",
    "Shipped {s} pipelines handling {n} million events a day",
    "Maintained the company's {s} stack and trained {n} engineers",
)
_FILLER = (
    "Mentored junior colleagues and ran the hiring loop",
    "Wrote the on-call runbook and cut incidents by half",
    "Presented at two regional conferences",
    "Volunteer maths tutor at the local library",
)


@dataclass(frozen=True)
class RecruitSet:
    roles: dict[str, str]
    """role id → role markdown"""
    resumes: dict[str, str]
    """candidate id → resume text"""
    truth: dict[str, set[str]]
    """role id → the planted candidate ids"""


def _role_text(title: str, must: list[str], nice: list[str]) -> str:
    return (
        f"# {title}\n\n## Must have\n"
        + "".join(f"- {s}\n" for s in must)
        + "\n## Nice to have\n"
        + "".join(f"- {s}\n" for s in nice)
    )


def _resume(name: str, lines: list[str]) -> str:
    return f"# {name}\n" + "".join(f"- {line}\n" for line in lines)


def generate_recruiting(
    seed: int, roles: int = 6, planted: int = 2, stuffers: int = 2, others: int = 3
) -> RecruitSet:
    rng = random.Random(seed)
    role_texts: dict[str, str] = {}
    resumes: dict[str, str] = {}
    truth: dict[str, set[str]] = {}
    names = iter(rng.sample([f"{f} {last}" for f in FIRST for last in LAST], len(FIRST) * len(LAST)))
    for r in range(roles):
        title = f"{LEVELS[r % len(LEVELS)]} {TITLES[r % len(TITLES)]} {r + 1}"
        skills = rng.sample(SKILLS, 5)
        must, nice = skills[:3], skills[3:]
        role_id = "-".join(title.lower().split())
        role_texts[role_id] = _role_text(title, must, nice)
        truth[role_id] = set()
        for _ in range(planted):
            name = next(names)
            lines = [rng.choice(_USED).format(s=s, n=rng.randint(2, 9)) for s in must]
            lines += [f"Some {nice[0]} on side projects"] if rng.random() < 0.5 else []
            lines += [f"{title.rsplit(' ', 1)[0]} at a previous company"] if rng.random() < 0.5 else []
            lines += rng.sample(_FILLER, 2)
            rng.shuffle(lines)
            resumes[_id(name)] = _resume(name, lines)
            truth[role_id].add(_id(name))
        for _ in range(stuffers):
            name = next(names)
            hook = must[rng.randrange(3)]
            lead = title.rsplit(" ", 1)[0] if rng.random() < 0.5 else "Consultant"
            lines = [f"{lead} with {hook} and {nice[0]}", f"Used {hook} daily alongside {nice[1]}"]
            lines += [f"Certified in {s}" for s in nice] + rng.sample(_FILLER, 1)
            resumes[_id(name)] = _resume(name, lines)
        for _ in range(others):
            name = next(names)
            other = rng.sample([s for s in SKILLS if s not in skills], 3)
            lines = [rng.choice(_USED).format(s=s, n=rng.randint(2, 9)) for s in other]
            lines += rng.sample(_FILLER, 1)
            resumes[_id(name)] = _resume(name, lines)
    return RecruitSet(role_texts, resumes, truth)


def _id(name: str) -> str:
    return "-".join(name.lower().split())
