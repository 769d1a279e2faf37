"""Forms: the shipped registry, the builder (fields -> JSON Schema) and validation."""
