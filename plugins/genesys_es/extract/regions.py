"""Genesys Cloud regions and the hosts that serve them."""

from __future__ import annotations

# Region name -> domain, as in the official SDK's purecloud_region_hosts.py.
REGION_DOMAINS: dict[str, str] = {
    "us_east_1": "mypurecloud.com",
    "us_east_2": "use2.us-gov-pure.cloud",
    "us_west_2": "usw2.pure.cloud",
    "ca_central_1": "cac1.pure.cloud",
    "sa_east_1": "sae1.pure.cloud",
    "mx_central_1": "mxc1.pure.cloud",
    "eu_west_1": "mypurecloud.ie",
    "eu_west_2": "euw2.pure.cloud",
    "eu_central_1": "mypurecloud.de",
    "eu_central_2": "euc2.pure.cloud",
    "me_central_1": "mec1.pure.cloud",
    "ap_south_1": "aps1.pure.cloud",
    "ap_southeast_1": "apse1.pure.cloud",
    "ap_southeast_2": "mypurecloud.com.au",
    "ap_northeast_1": "mypurecloud.jp",
    "ap_northeast_2": "apne2.pure.cloud",
    "ap_northeast_3": "apne3.pure.cloud",
}

DEFAULT_REGION = "us_east_1"


def region_hosts(region: str) -> tuple[str, str]:
    """Return the (login base URL, API base URL) of a Genesys region.

    :param region: a region name such as ``us_east_1`` (or its domain, such as ``mypurecloud.com``).
    """
    key = region.strip().lower().replace("-", "_")
    domain = REGION_DOMAINS.get(key)
    if domain is None and region.strip().lower() in REGION_DOMAINS.values():
        domain = region.strip().lower()
    if domain is None:
        valid = ", ".join(f"{name} ({dom})" for name, dom in REGION_DOMAINS.items())
        raise ValueError(f"Unknown Genesys Cloud region {region!r}; valid regions: {valid}")
    return f"https://login.{domain}", f"https://api.{domain}"
