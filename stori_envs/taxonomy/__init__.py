"""The STORI taxonomy as environment-agnostic building blocks: profiles, seeded streams and wrappers."""
