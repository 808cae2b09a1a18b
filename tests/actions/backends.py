"""Backends for the tests that plug one in through MAJLIS_CARE_BACKEND."""
from __future__ import annotations

from actions.api.care_backend import BackendError


class FailingBackend:
    """Implements CareBackend; every call fails as a backend that is down would."""

    async def _fail(self, *args, **kwargs):
        raise BackendError("service unavailable")

    get_bill = find_order = find_area = outages_in = stores_in = store_areas = bundles = _fail
    buy_bundle = roaming_offer = is_home_area = record_case = get_case = _fail
    customer_for_line = linked_customer = send_verification_code = check_verification_code = _fail


class NotABackend:
    """Has none of the CareBackend methods."""
