"""msgspec Structs for every Hyperliquid wire message the clients read; each parses itself into Nautilus objects."""
