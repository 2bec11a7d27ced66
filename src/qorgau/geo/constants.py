"""Map permissions and limits."""

from __future__ import annotations

from qorgau.core.roles import Role, grant

# Insurers, hospitals, workers and system accounts have no business with the national map.
MAP_READ = grant(
    "geo.map.read",
    {
        Role.MINISTRY_ANALYST,
        Role.INDUSTRY_OFFICER,
        Role.ADMIN,
        Role.LABOUR_INSPECTOR,
        Role.AKIMAT,
        Role.EMERGENCY_INSPECTOR,
        Role.EMPLOYER_OSH,
    },
)
# Regional statistics (choropleth) are for authorities, not for a single employer.
MAP_CHOROPLETH = grant(
    "geo.map.choropleth",
    {
        Role.MINISTRY_ANALYST,
        Role.INDUSTRY_OFFICER,
        Role.ADMIN,
        Role.LABOUR_INSPECTOR,
        Role.AKIMAT,
        Role.EMERGENCY_INSPECTOR,
    },
)

EXPORT_MAX_FEATURES = 50_000
SEARCH_MAX_IDS = 50_000  # a name search that matches more is refused with a 422
SEARCH_LIST = 20  # rows listed by the search box
EMBED_MAX_ZOOM = 12  # the public embed never zooms to single enterprises
