"""Churn: per-account signals as of a date from the unified tables, a logistic model trained on a time-based
split (older accounts train, newer ones test) and Platt-calibrated on the newest slice of the training accounts,
AUC and Brier on the held-out part against the base rate and the single signal best on the training accounts, and
a health score whose per-signal contributions add up to the account's (calibrated) logit, with the top drivers'
interventions.

The model is saved as JSON (coefficients, standardisation, metrics), so scoring needs no pickle.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from sophia.bi._interventions import interventions
from sophia.errors import SophiaError

__all__ = [
    "FEATURES",
    "ChurnError",
    "ChurnModel",
    "Health",
    "churn_features",
    "churn_labels",
    "train_churn",
]

Row = Mapping[str, Any]
HORIZON = timedelta(days=90)
PLATT_PRIOR = 4.0
FEATURES = (
    "login_trend",
    "login_level",
    "open_p1_tickets",
    "open_other_tickets",
    "champion_left",
    "open_deals",
    "lost_deals_180d",
)
"""login_trend: slope of log(1 + weekly logins) per week over the weeks before as_of; login_level: mean
log(1 + logins) of the last 4 weeks; tickets are open ones raised before as_of; deals are the account's."""


class ChurnError(SophiaError):
    """Too little data to train, or no trained model."""

    code = "churn_error"
    http_status = 409  # the data cannot support it yet: not a server fault, not a bad request


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _login_signals(weeks: Sequence[Row]) -> tuple[float, float]:
    ordered = sorted(weeks, key=lambda w: _aware(w["week_start"]) or datetime.min.replace(tzinfo=UTC))
    values = np.log1p(np.array([float(w["logins"]) for w in ordered]))
    if len(values) < 2:
        return 0.0, float(values.mean()) if len(values) else 0.0
    slope = float(np.polyfit(np.arange(len(values), dtype=float), values, 1)[0])
    return slope, float(values[-4:].mean())


def _usage_before(frames: Mapping[str, Sequence[Row]], as_of: datetime) -> dict[str, list[Row]]:
    usage: dict[str, list[Row]] = defaultdict(list)
    for week in frames.get("usage_weeks", ()):
        start = _aware(week["week_start"])
        if start is not None and start < as_of:
            usage[str(week["account_id"])].append(week)
    return usage


def _open_tickets(
    frames: Mapping[str, Sequence[Row]], as_of: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """Open P1 tickets and other open tickets per account, raised before `as_of`."""
    p1: dict[str, int] = defaultdict(int)
    other: dict[str, int] = defaultdict(int)
    for activity in frames.get("activities", ()):
        at = _aware(activity["occurred_at"])
        if activity["kind"] != "ticket" or activity.get("status") != "open" or at is None or at >= as_of:
            continue
        target = p1 if activity.get("priority") == "P1" else other
        target[str(activity["account_id"])] += 1
    return p1, other


def _champions_left(frames: Mapping[str, Sequence[Row]], as_of: datetime) -> set[str]:
    left: set[str] = set()
    for contact in frames.get("contacts", ()):
        gone = _aware(contact.get("left_at"))
        if contact.get("is_champion") and gone is not None and gone < as_of:
            left.add(str(contact["account_id"]))
    return left


def _deal_signals(
    frames: Mapping[str, Sequence[Row]], as_of: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """Deals open at `as_of`, and deals lost in the 180 days before it, per account."""
    open_deals: dict[str, int] = defaultdict(int)
    lost: dict[str, int] = defaultdict(int)
    for deal in frames.get("deals", ()):
        account = str(deal.get("account_id"))
        created, closed = _aware(deal.get("created_at")), _aware(deal.get("close_date"))
        if created is None or created >= as_of:
            continue
        if closed is not None and closed < as_of:
            lost[account] += bool(not deal.get("is_won") and as_of - closed <= timedelta(days=180))
        else:
            open_deals[account] += 1
    return open_deals, lost


def churn_features(frames: Mapping[str, Sequence[Row]], as_of: datetime) -> dict[str, dict[str, float]]:
    """Account id → signal values, using only what was known before `as_of`; accounts churned before it and
    accounts created after it are left out."""
    usage = _usage_before(frames, as_of)
    p1, other = _open_tickets(frames, as_of)
    left = _champions_left(frames, as_of)
    open_deals, lost = _deal_signals(frames, as_of)
    out: dict[str, dict[str, float]] = {}
    for account in frames.get("accounts", ()):
        account_id = str(account["source_id"])
        created, churned = _aware(account.get("created_at")), _aware(account.get("churned_at"))
        if (created is not None and created >= as_of) or (churned is not None and churned <= as_of):
            continue
        trend, level = _login_signals(usage.get(account_id, []))
        out[account_id] = {
            "login_trend": trend,
            "login_level": level,
            "open_p1_tickets": float(min(p1[account_id], 3)),
            "open_other_tickets": float(other[account_id]),
            "champion_left": float(account_id in left),
            "open_deals": float(open_deals[account_id]),
            "lost_deals_180d": float(lost[account_id]),
        }
    return out


def churn_labels(accounts: Sequence[Row], as_of: datetime, horizon: timedelta = HORIZON) -> dict[str, bool]:
    """Whether each account churned in (as_of, as_of + horizon]."""
    labels = {}
    for account in accounts:
        churned = _aware(account.get("churned_at"))
        labels[str(account["source_id"])] = churned is not None and as_of < churned <= as_of + horizon
    return labels


@dataclass(frozen=True)
class Health:
    account_id: str
    churn_probability: float
    score: float
    """100 × (1 − churn probability)."""
    contributions: dict[str, float]
    """Signal → its share of the logit against an average account (positive raises churn risk)."""
    values: dict[str, float]

    def drivers(self, top: int = 3) -> list[tuple[str, float]]:
        ranked = sorted(self.contributions.items(), key=lambda kv: -kv[1])
        return [(name, value) for name, value in ranked[:top] if value > 0]

    def json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "churn_probability": self.churn_probability,
            "score": self.score,
            "contributions": self.contributions,
            "top_drivers": [name for name, _ in self.drivers()],
            "interventions": interventions([name for name, _ in self.drivers()]),
            "values": self.values,
        }


@dataclass(frozen=True)
class ChurnModel:
    coefficients: dict[str, float]
    """Per standardised feature."""
    intercept: float
    means: dict[str, float]
    scales: dict[str, float]
    metrics: dict[str, float]
    as_of: str

    def logit_parts(self, values: Mapping[str, float]) -> dict[str, float]:
        return {
            name: self.coefficients[name] * (values[name] - self.means[name]) / self.scales[name]
            for name in self.coefficients
        }

    def health(self, account_id: str, values: Mapping[str, float]) -> Health:
        parts = self.logit_parts(values)
        probability = 1 / (1 + math.exp(-(self.intercept + sum(parts.values()))))
        return Health(account_id, probability, round(100 * (1 - probability), 1), parts, dict(values))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.__dict__, indent=2, sort_keys=True))

    @classmethod
    def load(cls, path: Path) -> ChurnModel:
        if not path.is_file():
            raise ChurnError(f"no churn model at {path}: run `sophia bi train churn` first")
        return cls(**json.loads(path.read_text()))


def _matrix(features: Mapping[str, Mapping[str, float]], ids: Sequence[str]) -> np.ndarray:
    return np.array([[features[i][name] for name in FEATURES] for i in ids], dtype=float)


@dataclass(frozen=True)
class _Fitted:
    """A logistic model on standardised features with Platt calibration folded into its coefficients."""

    coefficients: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray

    def logits(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(((rows - self.mean) / self.scale) @ self.coefficients + self.intercept, dtype=float)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(1 / (1 + np.exp(-self.logits(rows))), dtype=float)


def _logistic(rows: np.ndarray, target: np.ndarray) -> _Fitted:
    from sklearn.linear_model import LogisticRegression

    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000).fit((rows - mean) / scale, target)
    return _Fitted(model.coef_[0].astype(float), float(model.intercept_[0]), mean, scale)


def _platt(
    fitted: _Fitted, rows: np.ndarray, target: np.ndarray, prior: float = PLATT_PRIOR
) -> tuple[_Fitted, float, float]:
    """Platt scaling on a calibration slice: P = σ(a·logit + b), with a Gaussian prior of weight `prior` pulling
    (a, b) towards (1, 0) so a small slice cannot swing it far; folded into the model (a kept > 0, so the ranking
    and each signal's direction stay the model's own)."""
    z = np.column_stack([fitted.logits(rows), np.ones(len(rows))])
    params, anchor = np.array([1.0, 0.0]), np.array([1.0, 0.0])
    for _ in range(50):  # Newton's method on the penalised log-loss (convex, two parameters)
        p = 1 / (1 + np.exp(-(z @ params)))
        gradient = z.T @ (p - target) + prior * (params - anchor)
        hessian = (z * (p * (1 - p))[:, None]).T @ z + prior * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        params = params - step
        if float(np.abs(step).max()) < 1e-10:
            break
    a, b = max(float(params[0]), 1e-3), float(params[1])
    folded = _Fitted(fitted.coefficients * a, fitted.intercept * a + b, fitted.mean, fitted.scale)
    return folded, a, b


def _calibrated(
    rows: np.ndarray, target: np.ndarray, calibration_share: float
) -> tuple[_Fitted, float, float]:
    """Fit on the older part of `rows` (time-ordered), calibrate on its newest `calibration_share`."""
    cut = int(len(rows) * (1 - calibration_share))
    if cut < 10 or len(set(target[:cut])) < 2:
        raise ChurnError(f"too few accounts with both outcomes to fit before calibrating ({cut} accounts)")
    return _platt(_logistic(rows[:cut], target[:cut]), rows[cut:], target[cut:])


def _auc(target: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(target, score)) if len(set(target)) == 2 else 0.5


def _single_signal(train_x: np.ndarray, train_y: np.ndarray) -> tuple[int, float]:
    """The signal (index, sign) that ranks the TRAINING accounts best; its held-out AUC is the baseline."""
    best = max(
        (
            (k, sign, _auc(train_y, sign * train_x[:, k]))
            for k in range(len(FEATURES))
            for sign in (1.0, -1.0)
        ),
        key=lambda t: (t[2], -t[0]),
    )
    return best[0], best[1]


def train_churn(
    frames: Mapping[str, Sequence[Row]],
    as_of: datetime,
    *,
    test_share: float = 0.3,
    calibration_share: float = 0.25,
) -> ChurnModel:
    """Accounts ordered by created_at: the newest `test_share` are held out; of the older ones, the newest
    `calibration_share` calibrate (Platt) a logistic model fitted on the rest. AUC and Brier are measured on the
    held-out accounts, with, in the same split, the base rate (train's churn share) and the single signal that
    ranks the training accounts best. The saved model is refitted and recalibrated the same way on all accounts."""
    from sklearn.metrics import brier_score_loss

    features = churn_features(frames, as_of)
    labels = churn_labels(frames.get("accounts", ()), as_of)
    created = {str(a["source_id"]): _aware(a.get("created_at")) for a in frames.get("accounts", ())}
    ids = sorted(features, key=lambda i: (created.get(i) or as_of, i))
    y = np.array([labels[i] for i in ids], dtype=int)
    cut = int(len(ids) * (1 - test_share))
    if cut < 20 or len(ids) - cut < 5 or len(set(y[:cut])) < 2 or len(set(y[cut:])) < 2:
        raise ChurnError(f"too few accounts with both outcomes to train and test ({len(ids)} accounts)")
    x = _matrix(features, ids)
    train_x, train_y, held_x, held_y = x[:cut], y[:cut], x[cut:], y[cut:]
    model, slope, offset = _calibrated(train_x, train_y, calibration_share)
    predicted = model.probabilities(held_x)
    k, sign = _single_signal(train_x, train_y)
    single, _, _ = _calibrated(train_x[:, [k]], train_y, calibration_share)
    base_rate = float(train_y.mean())
    metrics = {
        "auc": _auc(held_y, predicted),
        "brier": float(brier_score_loss(held_y, predicted)),
        "base_rate_brier": float(brier_score_loss(held_y, np.full(len(held_y), base_rate))),
        "base_rate_auc": 0.5,
        "single_signal_auc": _auc(held_y, sign * held_x[:, k]),
        "single_signal_brier": float(brier_score_loss(held_y, single.probabilities(held_x[:, [k]]))),
        "single_signal_index": float(k),
        "calibration_slope": slope,
        "calibration_intercept": offset,
        "train_accounts": float(cut),
        "test_accounts": float(len(ids) - cut),
    }
    final, _, _ = _calibrated(x, y, calibration_share)
    return ChurnModel(
        {name: float(c) for name, c in zip(FEATURES, final.coefficients, strict=True)},
        final.intercept,
        {name: float(m) for name, m in zip(FEATURES, final.mean, strict=True)},
        {name: float(s) for name, s in zip(FEATURES, final.scale, strict=True)},
        metrics,
        as_of.isoformat(),
    )
