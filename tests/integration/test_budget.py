"""The shared per-installation write budget, on a real Redis."""

from __future__ import annotations

import pytest
import redis

from preview.models import PullRef
from preview.ports import TemporaryError
from workers.budget import WriteBudget


def test_budget_per_installation_and_minute(redis_db: redis.Redis) -> None:
    now = [120.0 * 60 + 15]
    budget = WriteBudget(redis_db, 3, clock=lambda: now[0])
    one, other = PullRef("acme/a", 1, 7), PullRef("acme/b", 2, 8)
    for _ in range(3):
        budget(one)
    with pytest.raises(TemporaryError) as info:
        budget(one)
    assert info.value.delay == pytest.approx(45.0)
    budget(other)  # another installation has its own budget
    WriteBudget(redis_db, 3, clock=lambda: now[0])(other)  # shared across processes: counts add up
    now[0] += 60
    budget(one)  # a new minute


def test_token_mode_budgets_by_owner(redis_db: redis.Redis) -> None:
    budget = WriteBudget(redis_db, 1, clock=lambda: 0.0)
    budget(PullRef("acme/a", 1))
    with pytest.raises(TemporaryError):
        budget(PullRef("acme/b", 1))
