"""Draft-4 keywords whose meaning the toolkit fixes itself, shared by both validation engines.

``multipleOf``: jsonschema divides floats, so ``19.99`` is "not a multiple of 0.01" and a
correct price in Snowplow's own ecommerce schemas (``multipleOf: 0.01``) would become a bad
row. Snowplow's validator (networknt) compares in BigDecimal on the number's shortest decimal
form; :func:`is_multiple_of` does the same. The reference engine gets it through
:data:`ReferenceValidator`, the fast engine through a custom keyword calling the same function,
so the engines agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from jsonschema import Draft4Validator, validators
from jsonschema.exceptions import ValidationError


def is_multiple_of(instance: int | float, by: int | float) -> bool:
    """Exact decimal divisibility of the numbers as written (``repr`` is the shortest round-trip form)."""
    if isinstance(instance, int) and isinstance(by, int):
        return instance % by == 0
    try:
        return Decimal(repr(instance)) % Decimal(repr(by)) == 0
    except InvalidOperation:  # a quotient beyond Decimal's 28 digits (1e300 by 0.01): exact fractions instead
        try:
            return Fraction(repr(instance)) % Fraction(repr(by)) == 0
        except (ValueError, ZeroDivisionError):  # inf / nan are not JSON numbers; by = 0 fails the meta-schema
            return False


def multiple_of(validator: Draft4Validator, by: int | float, instance: object,
                schema: dict) -> Iterator[ValidationError]:
    """jsonschema's ``multipleOf`` keyword with :func:`is_multiple_of`; the message is jsonschema's."""
    if validator.is_type(instance, "number") and not is_multiple_of(instance, by):  # type: ignore[arg-type]
        yield ValidationError(f"{instance!r} is not a multiple of {by}")


#: Draft4Validator with the toolkit's ``multipleOf``; everything else is jsonschema's
ReferenceValidator = validators.extend(Draft4Validator, {"multipleOf": multiple_of})
