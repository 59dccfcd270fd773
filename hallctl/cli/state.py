"""Process-wide CLI flags set by the top-level callback."""

debug: bool = False
