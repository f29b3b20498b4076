"""The API's routers, one per concern; ``create_app`` includes them.

Each router is declared once in its module, so a dependency every route of a concern needs (a
caller's role, say) is added in one place: ``APIRouter(..., dependencies=[...])``.
"""
