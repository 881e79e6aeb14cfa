"""The data catalogue: every dataset of personal data and the class of each of its fields.

Datasets are declared where their tables are (``twonets.core.privacy.dataset`` in a model's
table info); the catalogue reads those declarations from the table metadata, so there is one
source of truth and nothing to keep in step by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, MetaData, Table

from twonets.core.db import Base
from twonets.core.errors import NotFound
from twonets.core.privacy import INFO_CLASS, INFO_DATASET, INFO_DEFAULT, INFO_KIND, DataClass


@dataclass(frozen=True)
class FieldSpec:
    """One field of a dataset and how much protection it needs."""

    name: str
    data_class: DataClass
    sensitive_kind: str | None

    @property
    def sealed(self) -> bool:
        """Sensitive values are stored encrypted (AES-GCM) and opened only by the door."""
        return self.data_class is DataClass.SENSITIVE


@dataclass(frozen=True)
class RetentionRule:
    """Records of a dataset kept under a purpose, and what happens when they are due."""

    purpose: str
    time_field: str
    action: str  # "delete" or "anonymise"


@dataclass(frozen=True)
class Dataset:
    """A table of personal data as governance sees it."""

    name: str
    table: Table
    subject_field: str
    subject_kind: str
    district_field: str | None
    time_field: str | None
    fields: Mapping[str, FieldSpec]
    retention: RetentionRule | None
    # The birth-date field by which rows of minors under 14 are told apart (PIPL Art. 28, 31).
    minor_field: str | None = None

    def field(self, name: str) -> FieldSpec:
        """The spec of one field; ``NotFound`` naming the dataset otherwise."""
        try:
            return self.fields[name]
        except KeyError:
            raise NotFound(f"dataset {self.name} has no field {name!r}") from None

    @property
    def personal_fields(self) -> list[str]:
        """Fields that are personal or sensitive, in table order."""
        return [n for n, f in self.fields.items() if f.data_class is not DataClass.PUBLIC]

    @property
    def sealed_fields(self) -> list[str]:
        """Fields stored encrypted."""
        return [n for n, f in self.fields.items() if f.sealed]


def column_class(column: Column[Any], table: Table) -> DataClass | None:
    """The declared class of a column (its own, else its table's default), or None."""
    declared = column.info.get(INFO_CLASS) or table.info.get(INFO_DEFAULT)
    return DataClass(declared) if declared else None


def undeclared_columns(metadata: MetaData) -> list[str]:
    """``table.column`` of every column whose data class nobody declared."""
    return [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if column_class(column, table) is None
    ]


def dataset_of(table: Table) -> Dataset | None:
    """The dataset a table declares, if it declares one."""
    declared = table.info.get(INFO_DATASET)
    if not declared:
        return None
    fields = {}
    for column in table.columns:
        data_class = column_class(column, table)
        if data_class is None:
            raise ValueError(f"{table.name}.{column.name} declares no data class")
        fields[column.name] = FieldSpec(column.name, data_class, column.info.get(INFO_KIND))
    retention = declared.get("retention")
    return Dataset(
        name=declared["name"],
        table=table,
        subject_field=declared["subject"],
        subject_kind=declared["subject_kind"],
        district_field=declared.get("district"),
        time_field=declared.get("time"),
        fields=fields,
        retention=RetentionRule(
            purpose=retention["purpose"],
            time_field=retention["time"],
            action=retention.get("action", "delete"),
        )
        if retention
        else None,
        minor_field=declared.get("minor_birth_date"),
    )


class Catalogue:
    """The datasets known to this process: the platform's tables, plus any registered ones."""

    def __init__(self, metadatas: Iterable[MetaData] = ()) -> None:
        self._metadatas = [Base.metadata, *metadatas]
        self._extra: dict[str, Dataset] = {}
        self._cache: tuple[tuple[int, ...], dict[str, Dataset]] | None = None

    def register(self, table: Table) -> Dataset:
        """Add a table from another metadata (a plug-in's, or a test's)."""
        found = dataset_of(table)
        if found is None:
            raise ValueError(f"table {table.name} declares no dataset")
        self._extra[found.name] = found
        self._cache = None
        return found

    def datasets(self) -> dict[str, Dataset]:
        """Every dataset by name (rebuilt when a domain loads more tables)."""
        key = (*(len(m.tables) for m in self._metadatas), len(self._extra))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        found: dict[str, Dataset] = {}
        for metadata in self._metadatas:
            for table in metadata.sorted_tables:
                declared = dataset_of(table)
                if declared is not None:
                    found[declared.name] = declared
        found.update(self._extra)
        self._cache = (key, found)
        return found

    def get(self, name: str) -> Dataset:
        """One dataset by name, or ``NotFound`` listing the known ones."""
        datasets = self.datasets()
        if name not in datasets:
            known = ", ".join(sorted(datasets))
            raise NotFound(f"no dataset {name!r} (known: {known})")
        return datasets[name]
