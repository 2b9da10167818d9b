"""What validating settings found: problems (nothing is saved) and warnings (saving is allowed),
each at the path of its setting, e.g. "opportunity_mappings[3].sf_field", "stage_mapping.won"."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    path: str  # e.g. "opportunity_mappings[3].sf_field", "stage_mapping.won"
    message: str


@dataclass
class ValidationReport:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, path: str, message: str) -> None:
        self.errors.append(Issue(path, message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(Issue(path, message))
