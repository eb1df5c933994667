"""The desk has no admin pages of its own: macros are under Automation."""
