"""A model's versions a page at a time, newest first, filtered by tag, alias, creator, time
and metric; paging never repeats or skips a version while new ones are registered."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from champion.errors import InvalidInput, NotFound
from champion.registry import MetricFilter, Registry, VersionFilter
from champion.services import Services
from tests.conftest import ModelFolders


def _register(registry: Registry, folder: Path, i: int, actor: str = "tests") -> None:
    manifest = yaml.safe_load((folder / "champion.yaml").read_text())
    manifest["lineage"]["metrics"] = {"auc": round(0.5 + i / 100, 2)}
    manifest["lineage"]["tags"] = {"team": "search" if i % 2 else "ads"}
    if i % 5 == 0:
        manifest["lineage"]["tags"]["reviewed"] = "yes"
    (folder / "champion.yaml").write_text(yaml.safe_dump(manifest))
    registry.register(folder, model="churn", actor=actor)


@pytest.fixture
def registry(services: Services, model_folder: ModelFolders) -> Registry:
    folder = model_folder("constant")
    for i in range(1, 26):  # churn/1..25: auc 0.51..0.75, odd numbers on team search
        _register(services.registry, folder, i, actor="alice" if i <= 10 else "bob")
    return services.registry


def _numbers(registry: Registry, flt: VersionFilter | None = None, limit: int = 100) -> list[int]:
    return [v.number for v in registry.find_versions("churn", flt, limit=limit).versions]


def test_pages_run_newest_first_and_end_with_no_cursor(registry: Registry) -> None:
    first = registry.find_versions("churn", limit=10)
    assert [v.number for v in first.versions] == list(range(25, 15, -1))
    assert first.next_cursor is not None
    second = registry.find_versions("churn", limit=10, cursor=first.next_cursor)
    third = registry.find_versions("churn", limit=10, cursor=second.next_cursor)
    assert [v.number for v in third.versions] == list(range(5, 0, -1))
    assert third.next_cursor is None
    exact = registry.find_versions("churn", limit=25)
    assert len(exact.versions) == 25 and exact.next_cursor is None  # no empty last page


def test_paging_while_versions_are_registered_repeats_and_skips_nothing(
    registry: Registry, model_folder: ModelFolders
) -> None:
    folder = model_folder("constant")
    seen: list[int] = []
    cursor = None
    added = 26
    while True:
        page = registry.find_versions("churn", limit=4, cursor=cursor)
        seen += [v.number for v in page.versions]
        _register(registry, folder, added)  # one more between every two pages
        added += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(range(25, 0, -1))  # every version there at the start, once, in order
    registry.delete_version("churn", 12, actor="tests")
    assert 12 not in _numbers(registry, limit=1000)


def test_each_filter_keeps_what_it_says(registry: Registry, services: Services) -> None:
    search = _numbers(registry, VersionFilter(tags={"team": "search"}))
    assert search == [n for n in range(25, 0, -1) if n % 2]
    assert _numbers(registry, VersionFilter(tags={"reviewed": None})) == [25, 20, 15, 10, 5]
    both = VersionFilter(tags={"team": "search", "reviewed": None})
    assert _numbers(registry, both) == [25, 15, 5]
    assert _numbers(registry, VersionFilter(tags={"team": "nobody"})) == []

    assert _numbers(registry, VersionFilter(creator="alice")) == list(range(10, 0, -1))

    best = VersionFilter(metrics=(MetricFilter.parse("auc>0.7"),))
    assert _numbers(registry, best) == [25, 24, 23, 22, 21]
    band = VersionFilter(metrics=(MetricFilter.parse("auc>=0.6"), MetricFilter.parse("auc<0.62")))
    assert _numbers(registry, band) == [11, 10]
    assert _numbers(registry, VersionFilter(metrics=(MetricFilter.parse("f1>0"),))) == []

    services.registry.set_alias("churn", "champion", 7, actor="tests")
    assert _numbers(registry, VersionFilter(alias="champion")) == [7]
    with pytest.raises(NotFound, match="Unknown alias 'nope' on model 'churn'"):
        registry.find_versions("churn", VersionFilter(alias="nope"))

    versions = registry.find_versions("churn", limit=25).versions
    middle = versions[12].created_at  # churn/13
    after = _numbers(registry, VersionFilter(created_after=middle))
    before = _numbers(registry, VersionFilter(created_before=middle))
    assert after == [n for n in range(25, 0, -1) if versions[25 - n].created_at > middle]
    assert before == [n for n in range(25, 0, -1) if versions[25 - n].created_at < middle]
    assert after[-1] == 14 and before[0] == 12  # registered one after another
    window = VersionFilter(
        created_after=versions[-1].created_at - timedelta(seconds=1),
        created_before=versions[0].created_at + timedelta(seconds=1),
    )
    assert len(_numbers(registry, window)) == 25


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MetricFilter.parse("auc>>0.8"), "metric: 'auc>>0.8' is no metric threshold"),
        (lambda: MetricFilter.parse("auc>nan"), "metric: 'auc>nan' is no metric threshold"),
        (lambda: MetricFilter.parse("0.8"), "metric: '0.8' is no metric threshold"),
        (lambda: VersionFilter.parse_tags(["team:"]), "tag: 'team:' is no tag filter"),
        (lambda: VersionFilter.parse_tags(["a b:c"]), "tag: 'a b:c' is no tag filter"),
    ],
)
def test_a_malformed_filter_is_refused_naming_it(make: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        make()  # type: ignore[operator]  # each case is a callable


def test_a_bad_limit_or_cursor_is_refused_naming_it(registry: Registry) -> None:
    with pytest.raises(InvalidInput, match="limit: must be between 1 and 1000, got 0"):
        registry.find_versions("churn", limit=0)
    with pytest.raises(InvalidInput, match="cursor: 'garbage!' is not a cursor this server gave"):
        registry.find_versions("churn", cursor="garbage!")
    with pytest.raises(NotFound, match="Unknown model 'nope'"):
        registry.find_versions("nope")
