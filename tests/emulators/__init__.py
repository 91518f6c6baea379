"""Local HTTP emulators of the real provider APIs (providers.md 1-3, awkward cases of 7.9).

Each emulator is an aiohttp app served on 127.0.0.1 on a free port, with state (eSIMs,
plans, orders) and fault injection. Use ``async with AiraloEmulator.running() as emu:`` (or
the eSIM Access / eSIM Go ones) and build the adapter with ``base_url=emu.base_url``.

The constants below are a stable contract for other tests (and the end-to-end console
test): every ICCID is Luhn-valid and starts with 89; each emulator knows its credentials.
"""

from __future__ import annotations

# --- Airalo --------------------------------------------------------------------------------
AIRALO_CLIENT_ID = "emu-airalo-client"
AIRALO_CLIENT_SECRET = "emu-airalo-secret"
AIRALO_ICCID = "8944465400000100017"  # ACTIVE, 2048 MB of which 767 MB left, 100 min, 100 SMS
AIRALO_CODE = "AIR3K7Q9ZT"  # matching id; full LPA: LPA:1$lpa.airalo.com$AIR3K7Q9ZT
AIRALO_UNLIMITED_ICCID = "8944465400000100025"  # unlimited, counters 0/0 (must be ignored)
AIRALO_RECYCLED_ICCID = "8944465400000100033"  # RECYCLED: top-ups answer code 73
AIRALO_NO_TOPUP_ICCID = "8944465400000100041"  # FINISHED, operator offers no top-up ({"data": []})
AIRALO_TOPUP_PLAN = "emu-norway-30days-3gb-topup"  # 3 GB / 30 days, net 8 USD, retail 10 USD
AIRALO_SMALL_PLAN = "emu-norway-7days-1gb-topup"  # 1 GB / 7 days, price given as strings

# --- eSIM Access ---------------------------------------------------------------------------
ESIMACCESS_ACCESS_CODE = "emu-access-code"
ESIMACCESS_SECRET_KEY = "emu-secret-key"
ESIMACCESS_ICCID = "89852245280000942210"  # IN_USE, 5 GiB, 1,453,344,832 bytes used
ESIMACCESS_CODE = "451F9802E6C4"  # matching id of LPA:1$rsp-eu.redteamobile.com$451F9802E6C4
ESIMACCESS_FRESH_ICCID = "89852245280000942228"  # GOT_RESOURCE; usage answer is a bare array
ESIMACCESS_CANCELLED_ICCID = "89852245280000942236"  # CANCEL (terminal)
ESIMACCESS_PENDING_ICCID = "89852245280000942244"  # answers 200010 (not allocated) until ready
ESIMACCESS_TOPUP_PLAN = "TOPUP_CKH491"  # 3 GiB / 30 days, USD 2.50 (25000)

# --- eSIM Go -------------------------------------------------------------------------------
ESIMGO_API_KEY = "emu-esimgo-key"
ESIMGO_ICCID = "8944538532008160222"  # active 1 GB bundle (750 MB left) + a queued 1 GB one
ESIMGO_CODE = "JQ-7XK2P9-R4TLMV"  # matching id; smdp rsp.esim-go.example
ESIMGO_EXPIRED_ICCID = "8944538532008160230"  # only an expired and a depleted bundle
ESIMGO_UNLIMITED_ICCID = "8944538532008160248"  # unlimited active bundle
ESIMGO_TOPUP_PLAN = "esim_1GB_7D_NO_V2"  # compatible with ESIMGO_ICCID, 1.23 in org currency
ESIMGO_INCOMPATIBLE_PLAN = "esim_5GB_30D_US_V2"  # in the catalogue, not compatible

# The settings that let the real adapters sign in to the emulators (add ``<name>_base_url``).
CREDENTIALS = {
    "airalo_client_id": AIRALO_CLIENT_ID,
    "airalo_client_secret": AIRALO_CLIENT_SECRET,
    "esimaccess_access_code": ESIMACCESS_ACCESS_CODE,
    "esimaccess_secret_key": ESIMACCESS_SECRET_KEY,
    "esimgo_api_key": ESIMGO_API_KEY,
}
