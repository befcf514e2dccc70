"""How account and order numbers are shown to people: on the console, in CLI tables and in CLI JSON.

- An account number shows only partly, as the README promises: ``50123456-01`` → ``5012****-01``
  (`masking.partial_account`).
- An order number shows in one format everywhere: without leading zeros (KIS real answers ``0000011774``,
  paper ``11774``; both are order ``11774``). Messages stored before this rule, or built by code that pads,
  are rewritten when shown (`order_numbers`).
"""

import re

from stock_manager.adapters.observability.masking import mask, partial_account
from stock_manager.domain.fill_matching import normalize_order_number

#: A zero-padded KIS order number (ODNO, 10 digits) standing alone in a text: not part of a longer number,
#: a decimal or an identifier.
_PADDED_ORDER_NUMBER = re.compile(r"(?<![\w.])0\d{9}(?![\w.])")


def account(account_id: str | None) -> str:
    """Return `account_id` with its middle hidden (``5012****-01``), or "-" when there is none."""
    return partial_account(account_id) if account_id else "-"


def order_number(number: str | None) -> str:
    """Return a broker order number without leading zeros, or "-" when there is none."""
    return normalize_order_number(number) if number else "-"


def order_numbers(text: str) -> str:
    """Return `text` with every zero-padded order number shown without its leading zeros."""
    return _PADDED_ORDER_NUMBER.sub(lambda m: normalize_order_number(m.group(0)), text)


def shown(text: str) -> str:
    """Return a message as people see it: secrets and registered accounts masked, order numbers unpadded."""
    return order_numbers(mask(text))
