"""The conformance catalogue: see README.md and REQUIREMENTS.md."""
