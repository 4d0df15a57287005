"""Page and limit of list endpoints, and counting a query into pages."""

import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas import Pagination

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
# Far past any real list, and small enough that (page - 1) * limit fits a 64-bit
# database integer.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class PageParams:
    page: int
    limit: int


def page_params(
    page: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description="1-based page number, at most 1e6")
    ] = 1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="items per page, at most 100")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(page=page, limit=limit)


PageQuery = Annotated[PageParams, Depends(page_params)]


async def fetch_page(
    db: AsyncSession, query: Select[Any], params: PageParams
) -> tuple[list[Any], Pagination]:
    """The rows of `query` on the requested page, and the pagination object.

    `query` must already be ordered; a page past the end is empty, not an error.
    """
    total = await db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await db.scalars(
        query.limit(params.limit).offset((params.page - 1) * params.limit)
    )
    pagination = Pagination(
        page=params.page,
        limit=params.limit,
        total=total,
        pages=math.ceil(total / params.limit),
    )
    return list(rows), pagination
