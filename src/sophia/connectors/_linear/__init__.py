"""Linear (api.linear.app/graphql): teams, issues, projects, cycles; create, move and comment on issues; sync."""

from sophia.connectors._linear._connector import Linear

__all__ = ["Linear"]
