"""survey_service: JSON-Schema forms, salary surveys, worker polls and wage-reference tables."""

__version__ = "0.1.0"
