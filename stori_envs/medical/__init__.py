"""The medical family of stori-envs (under construction)."""


def register() -> None:
    """Register this family's Gymnasium ids (none yet)."""
