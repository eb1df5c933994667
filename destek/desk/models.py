"""The desk keeps no tables of its own: canned replies became macros (`destek.automation`)."""
