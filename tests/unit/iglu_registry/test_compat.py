"""Compatibility classification on hand-written schema pairs, checked against real data too.

Each row: OLD body, NEW body, the expected classification, and a (path, keyword) that must
appear among the reasons. Each row also carries instances valid under OLD; the test checks
with jsonschema that the classification tells the truth about them (ADDITION: all stay
valid; REVISION: at least one is rejected and one survives; MODEL: every one is rejected).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iglu_registry.compat import Effect, compare_schemas
from iglu_registry.formats import format_checker
from iglu_registry.keywords import ReferenceValidator
from iglu_registry.schema_key import Bump

OBJ = {"type": "object"}
CLOSED = {"additionalProperties": False}


def props(**p: object) -> dict:
    return {"properties": p}


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
SI = {"type": ["string", "integer"]}
CASES = [
    # name, old, new, expected, (path, keyword), instances valid under old
    ("add optional property to a closed object", {**OBJ, **props(a=S), **CLOSED}, {**OBJ, **props(a=S, b=I), **CLOSED},
     Bump.ADDITION, ("$.b", "properties"), [{"a": "x"}, {}]),
    ("add optional property to an open object", {**OBJ, **props(a=S)}, {**OBJ, **props(a=S, b=I)},
     Bump.REVISION, ("$.b", "properties"), [{"a": "x"}, {"b": "not an int"}]),
    ("add unconstrained property to an open object", {**OBJ, **props(a=S)}, {**OBJ, **props(a=S, b={})},
     Bump.ADDITION, ("$.b", "properties"), [{"a": "x"}, {"b": 1}]),
    ("new required property", {**OBJ, **props(a=S), **CLOSED}, {**OBJ, **props(a=S, b=I), "required": ["b"], **CLOSED},
     Bump.MODEL, ("$.b", "required"), [{"a": "x"}, {}]),
    ("optional property becomes required", {**OBJ, **props(a=S)}, {**OBJ, **props(a=S), "required": ["a"]},
     Bump.REVISION, ("$.a", "required"), [{"a": "x"}, {}]),
    ("required property becomes optional", {**OBJ, **props(a=S), "required": ["a"]}, {**OBJ, **props(a=S)},
     Bump.ADDITION, ("$.a", "required"), [{"a": "x"}]),
    ("remove optional property from a closed object", {**OBJ, **props(a=S, b=I), **CLOSED},
     {**OBJ, **props(a=S), **CLOSED}, Bump.REVISION, ("$.b", "properties"), [{"a": "x"}, {"b": 1}]),
    ("remove required property from a closed object", {**OBJ, **props(a=S, b=I), "required": ["b"], **CLOSED},
     {**OBJ, **props(a=S), **CLOSED}, Bump.MODEL, ("$.b", "properties"), [{"b": 1}, {"a": "x", "b": 2}]),
    ("remove property from an open object", {**OBJ, **props(a=S, b=I)}, {**OBJ, **props(a=S)},
     Bump.ADDITION, ("$.b", "properties"), [{"b": 1}, {"a": "x"}]),
    ("type widened with null", {**OBJ, **props(a=S)}, {**OBJ, **props(a={"type": ["string", "null"]})},
     Bump.ADDITION, ("$.a", "type"), [{"a": "x"}]),
    ("integer widened to number", {**OBJ, **props(a=I)}, {**OBJ, **props(a={"type": "number"})},
     Bump.ADDITION, ("$.a", "type"), [{"a": 1}]),
    ("type narrowed", {**OBJ, **props(a={"type": ["string", "null"]})}, {**OBJ, **props(a=S)},
     Bump.REVISION, ("$.a", "type"), [{"a": "x"}, {"a": None}]),
    ("type of a required property changed", {**OBJ, **props(a=S), "required": ["a"]},
     {**OBJ, **props(a=I), "required": ["a"]}, Bump.MODEL, ("$.a", "type"), [{"a": "x"}]),
    ("type of an optional property changed", {**OBJ, **props(a=S)}, {**OBJ, **props(a=I)},
     Bump.REVISION, ("$.a", "type"), [{"a": "x"}, {}]),
    ("root type changed", {**OBJ, **props(a=S)}, {"type": "array"}, Bump.MODEL, ("$", "type"), [{"a": "x"}, {}]),
    ("enum gains a value", {**OBJ, **props(a={"enum": ["x", "y"]})}, {**OBJ, **props(a={"enum": ["x", "y", "z"]})},
     Bump.ADDITION, ("$.a", "enum"), [{"a": "x"}]),
    ("enum loses a value", {**OBJ, **props(a={"enum": ["x", "y"]})}, {**OBJ, **props(a={"enum": ["x"]})},
     Bump.REVISION, ("$.a", "enum"), [{"a": "x"}, {"a": "y"}]),
    ("enum replaced on a required property", {**OBJ, **props(a={"enum": ["x"]}), "required": ["a"]},
     {**OBJ, **props(a={"enum": ["z"]}), "required": ["a"]}, Bump.MODEL, ("$.a", "enum"), [{"a": "x"}]),
    ("maxLength lowered", {**OBJ, **props(a={"type": "string", "maxLength": 10})},
     {**OBJ, **props(a={"type": "string", "maxLength": 5})}, Bump.REVISION, ("$.a", "maxLength"),
     [{"a": "abc"}, {"a": "abcdefgh"}]),
    ("maxLength raised", {**OBJ, **props(a={"type": "string", "maxLength": 5})},
     {**OBJ, **props(a={"type": "string", "maxLength": 10})}, Bump.ADDITION, ("$.a", "maxLength"), [{"a": "abc"}]),
    ("minimum added", {**OBJ, **props(a=I)}, {**OBJ, **props(a={"type": "integer", "minimum": 0})},
     Bump.REVISION, ("$.a", "minimum"), [{"a": -1}, {"a": 1}]),
    ("numeric range moved out of reach", {**OBJ, **props(a={"type": "integer", "maximum": 10}), "required": ["a"]},
     {**OBJ, **props(a={"type": "integer", "minimum": 20}), "required": ["a"]}, Bump.MODEL,
     ("$.a", "minimum/maximum"), [{"a": 5}, {"a": -3}]),
    ("exclusive maximum on the same bound", {**OBJ, **props(a={"type": "number", "maximum": 10})},
     {**OBJ, **props(a={"type": "number", "maximum": 10, "exclusiveMaximum": True})}, Bump.REVISION,
     ("$.a", "maximum"), [{"a": 10}, {"a": 1}]),
    ("additionalProperties closed", {**OBJ, **props(a=S)}, {**OBJ, **props(a=S), **CLOSED},
     Bump.REVISION, ("$", "additionalProperties"), [{"a": "x"}, {"zzz": 1}]),
    ("additionalProperties opened", {**OBJ, **props(a=S), **CLOSED}, {**OBJ, **props(a=S)},
     Bump.ADDITION, ("$", "additionalProperties"), [{"a": "x"}]),
    ("nested object gains a required property", {**OBJ, **props(o={**OBJ, **props(x=S), **CLOSED}), "required": ["o"]},
     {**OBJ, **props(o={**OBJ, **props(x=S, y=S), "required": ["y"], **CLOSED}), "required": ["o"]},
     Bump.MODEL, ("$.o.y", "required"), [{"o": {"x": "a"}}, {"o": {}}]),
    ("optional nested object gains a required property", {**OBJ, **props(o={**OBJ, **props(x=S), **CLOSED})},
     {**OBJ, **props(o={**OBJ, **props(x=S, y=S), "required": ["y"], **CLOSED})},
     Bump.REVISION, ("$.o.y", "required"), [{"o": {"x": "a"}}, {}]),
    ("array item type narrowed", {**OBJ, **props(l={"type": "array", "items": SI})},
     {**OBJ, **props(l={"type": "array", "items": S})}, Bump.REVISION, ("$.l[*]", "type"),
     [{"l": ["a", 1]}, {"l": ["a"]}]),
    ("array item type changed entirely", {**OBJ, **props(l={"type": "array", "items": S}), "required": ["l"]},
     {**OBJ, **props(l={"type": "array", "items": I}), "required": ["l"]}, Bump.REVISION, ("$.l[*]", "type"),
     [{"l": ["a"]}, {"l": []}]),
    ("maxItems added", {**OBJ, **props(l={"type": "array"})}, {**OBJ, **props(l={"type": "array", "maxItems": 2})},
     Bump.REVISION, ("$.l", "maxItems"), [{"l": [1, 2, 3]}, {"l": []}]),
    ("description only", {**OBJ, **props(a=S), "description": "old"}, {**OBJ, **props(a=S), "description": "new"},
     Bump.ADDITION, None, [{"a": "x"}]),
    ("pattern added", {**OBJ, **props(a=S)}, {**OBJ, **props(a={"type": "string", "pattern": "^[a-z]+$"})},
     Bump.REVISION, ("$.a", "pattern"), [{"a": "abc"}, {"a": "ABC"}]),
    ("unknown format added is not enforced", {**OBJ, **props(a=S)},
     {**OBJ, **props(a={"type": "string", "format": "strict-uri"})}, Bump.ADDITION, ("$.a", "format"),
     [{"a": "not a uri"}]),
    # bounds at their edges, exclusive or not
    ("minimum made exclusive on the same value", {**OBJ, **props(a={"type": "number", "minimum": 0})},
     {**OBJ, **props(a={"type": "number", "minimum": 0, "exclusiveMinimum": True})}, Bump.REVISION,
     ("$.a", "minimum"), [{"a": 0}, {"a": 1}]),
    ("exclusive maximum dropped", {**OBJ, **props(a={"type": "number", "maximum": 10, "exclusiveMaximum": True})},
     {**OBJ, **props(a={"type": "number", "maximum": 10})}, Bump.ADDITION, ("$.a", "maximum"), [{"a": 9.5}]),
    ("minimum lowered", {**OBJ, **props(a={"type": "integer", "minimum": 5})},
     {**OBJ, **props(a={"type": "integer", "minimum": 1})}, Bump.ADDITION, ("$.a", "minimum"), [{"a": 5}]),
    ("minimum raised by a fraction", {**OBJ, **props(a={"type": "number", "minimum": 1})},
     {**OBJ, **props(a={"type": "number", "minimum": 1.5})}, Bump.REVISION, ("$.a", "minimum"),
     [{"a": 1.2}, {"a": 2}]),
    ("ranges touching at an inclusive bound", {**OBJ, **props(a={"type": "integer", "maximum": 10}), "required": ["a"]},
     {**OBJ, **props(a={"type": "integer", "minimum": 10}), "required": ["a"]}, Bump.REVISION, ("$.a", "minimum"),
     [{"a": 10}, {"a": 5}]),
    ("ranges touching at an exclusive bound", {**OBJ, **props(a={"type": "number", "maximum": 10}), "required": ["a"]},
     {**OBJ, **props(a={"type": "number", "minimum": 10, "exclusiveMinimum": True}), "required": ["a"]}, Bump.MODEL,
     ("$.a", "minimum/maximum"), [{"a": 10}, {"a": 5}]),
    ("lengths moved out of reach", {**OBJ, **props(a={"type": "string", "minLength": 5}), "required": ["a"]},
     {**OBJ, **props(a={"type": "string", "maxLength": 2}), "required": ["a"]}, Bump.MODEL,
     ("$.a", "minLength/maxLength"), [{"a": "abcde"}]),
    ("number narrowed to integer on a required property", {**OBJ, **props(a={"type": "number"}), "required": ["a"]},
     {**OBJ, **props(a=I), "required": ["a"]}, Bump.REVISION, ("$.a", "type"), [{"a": 1.5}, {"a": 2}]),
    ("integer-or-boolean narrowed to number on a required property",
     {**OBJ, **props(a={"type": ["integer", "boolean"]}), "required": ["a"]},
     {**OBJ, **props(a={"type": "number"}), "required": ["a"]}, Bump.REVISION, ("$.a", "type"),
     [{"a": 1}, {"a": True}]),
    ("a long enum loses values", {**OBJ, **props(a={"enum": [f"value-{i:02d}" for i in range(12)]})},
     {**OBJ, **props(a={"enum": ["value-00"]})}, Bump.REVISION, ("$.a", "enum"),
     [{"a": "value-00"}, {"a": "value-05"}]),
    # arrays: single item schemas, tuples, additionalItems, uniqueItems
    ("array items widened", {**OBJ, **props(l={"type": "array", "items": S})},
     {**OBJ, **props(l={"type": "array", "items": {"type": ["string", "null"]}})}, Bump.ADDITION, ("$.l[*]", "type"),
     [{"l": ["a"]}]),
    ("tuple item narrowed", {**OBJ, **props(l={"type": "array", "items": [S, {"type": ["integer", "string"]}]})},
     {**OBJ, **props(l={"type": "array", "items": [S, I]})}, Bump.REVISION, ("$.l[1]", "type"),
     [{"l": ["a", "x"]}, {"l": ["a", 1]}]),
    ("tuple gains an item where extra items were open", {**OBJ, **props(l={"type": "array", "items": [S]})},
     {**OBJ, **props(l={"type": "array", "items": [S, I]})}, Bump.REVISION, ("$.l[1]", "type"),
     [{"l": ["a", "b"]}, {"l": ["a", 1]}]),
    ("tuple item given to an additionalItems schema", {**OBJ, **props(l={"type": "array", "items": [S, I]})},
     {**OBJ, **props(l={"type": "array", "items": [S], "additionalItems": S})}, Bump.REVISION, ("$.l[1]", "type"),
     [{"l": ["a", 1]}, {"l": ["a"]}]),
    ("tuple gains an item the old additionalItems schema already described",
     {**OBJ, **props(l={"type": "array", "items": [S], "additionalItems": I})},
     {**OBJ, **props(l={"type": "array", "items": [S, I], "additionalItems": I})}, Bump.ADDITION, None,
     [{"l": ["a", 1, 2]}]),
    ("single items schema turned into a tuple", {**OBJ, **props(l={"type": "array",
                                                                   "items": SI})},
     {**OBJ, **props(l={"type": "array", "items": [S]})}, Bump.REVISION, ("$.l", "items"), [{"l": ["a"]}, {"l": [1]}]),
    ("additionalItems closed on a tuple", {**OBJ, **props(l={"type": "array", "items": [S]})},
     {**OBJ, **props(l={"type": "array", "items": [S], "additionalItems": False})}, Bump.REVISION,
     ("$.l", "additionalItems"), [{"l": ["a", "b"]}, {"l": ["a"]}]),
    ("additionalItems opened on a tuple", {**OBJ, **props(l={"type": "array", "items": [S], "additionalItems": False})},
     {**OBJ, **props(l={"type": "array", "items": [S]})}, Bump.ADDITION, ("$.l", "additionalItems"), [{"l": ["a"]}]),
    ("uniqueItems added", {**OBJ, **props(l={"type": "array"})},
     {**OBJ, **props(l={"type": "array", "uniqueItems": True})}, Bump.REVISION, ("$.l", "uniqueItems"),
     [{"l": [1, 1]}, {"l": [1, 2]}]),
    ("uniqueItems removed", {**OBJ, **props(l={"type": "array", "uniqueItems": True})},
     {**OBJ, **props(l={"type": "array"})}, Bump.ADDITION, ("$.l", "uniqueItems"), [{"l": [1, 2]}]),
    # combinators and references
    ("allOf member narrowed", {**OBJ, "allOf": [props(a=SI)]},
     {**OBJ, "allOf": [props(a=S)]}, Bump.REVISION, ("$.allOf[0].a", "type"), [{"a": 1}, {"a": "s"}]),
    ("allOf member widened", {**OBJ, "allOf": [props(a=S)]},
     {**OBJ, "allOf": [props(a=SI)]}, Bump.ADDITION, ("$.allOf[0].a", "type"),
     [{"a": "s"}]),
    ("allOf gains a member", {**OBJ, "allOf": [OBJ]}, {**OBJ, "allOf": [OBJ, {"required": ["a"]}]}, Bump.REVISION,
     ("$", "allOf"), [{}, {"a": 1}]),
    ("allOf removed", {**OBJ, "allOf": [{"required": ["a"]}]}, OBJ, Bump.ADDITION, ("$", "allOf"), [{"a": 1}]),
    ("anyOf gains an alternative", {**OBJ, **props(a={"anyOf": [S]})}, {**OBJ, **props(a={"anyOf": [S, I]})},
     Bump.ADDITION, ("$.a", "anyOf"), [{"a": "s"}]),
    ("anyOf loses an alternative", {**OBJ, **props(a={"anyOf": [S, I]})}, {**OBJ, **props(a={"anyOf": [S]})},
     Bump.REVISION, ("$.a", "anyOf"), [{"a": "s"}, {"a": 1}]),
    ("oneOf changed", {**OBJ, **props(a={"oneOf": [S, I]})}, {**OBJ, **props(a={"oneOf": [S]})}, Bump.REVISION,
     ("$.a", "oneOf"), [{"a": "s"}, {"a": 1}]),
    ("not added", {**OBJ, **props(a={})}, {**OBJ, **props(a={"not": I})}, Bump.REVISION, ("$.a", "not"),
     [{"a": 1}, {"a": "s"}]),
    ("not removed", {**OBJ, **props(a={"not": I})}, {**OBJ, **props(a={})}, Bump.ADDITION, ("$.a", "not"),
     [{"a": "s"}]),
    ("$ref pointed elsewhere", {**OBJ, "definitions": {"x": S, "y": I}, **props(a={"$ref": "#/definitions/x"})},
     {**OBJ, "definitions": {"x": S, "y": I}, **props(a={"$ref": "#/definitions/y"})}, Bump.REVISION, ("$.a", "$ref"),
     [{"a": "s"}, {}]),
    ("$ref removed", {**OBJ, "definitions": {"x": S}, **props(a={"$ref": "#/definitions/x"})},
     {**OBJ, "definitions": {"x": S}, **props(a={})}, Bump.ADDITION, ("$.a", "$ref"), [{"a": "s"}]),
    # additionalProperties as a schema, enum and format and pattern edges
    ("additionalProperties schema narrowed", {**OBJ, "additionalProperties": SI},
     {**OBJ, "additionalProperties": S}, Bump.REVISION, ("$.additionalProperties", "type"), [{"z": 1}, {"z": "s"}]),
    ("additionalProperties schema widened", {**OBJ, "additionalProperties": S},
     {**OBJ, "additionalProperties": SI}, Bump.ADDITION,
     ("$.additionalProperties", "type"), [{"z": "s"}]),
    ("additionalProperties false to a schema", {**OBJ, **props(a=S), **CLOSED},
     {**OBJ, **props(a=S), "additionalProperties": I}, Bump.ADDITION, ("$", "additionalProperties"), [{"a": "x"}]),
    ("additionalProperties schema to false", {**OBJ, "additionalProperties": S}, {**OBJ, **CLOSED}, Bump.REVISION,
     ("$", "additionalProperties"), [{"z": "s"}, {}]),
    ("property removed where additionalProperties is a schema that rejects it",
     {**OBJ, **props(b=I), "additionalProperties": S}, {**OBJ, "additionalProperties": S}, Bump.REVISION,
     ("$.b", "type"), [{"b": 1}, {}]),
    ("new property described as additionalProperties already described it", {**OBJ, "additionalProperties": S},
     {**OBJ, **props(b=S), "additionalProperties": S}, Bump.ADDITION, ("$.b", "properties"), [{"b": "s"}]),
    ("a name a pattern declares becomes required", {**OBJ, "patternProperties": {"^x_": S}},
     {**OBJ, "patternProperties": {"^x_": S}, "required": ["x_a"]}, Bump.REVISION, ("$.x_a", "required"),
     [{"x_a": "s"}, {}]),
    ("enum added", {**OBJ, **props(a=S)}, {**OBJ, **props(a={**S, "enum": ["x"]})}, Bump.REVISION, ("$.a", "enum"),
     [{"a": "x"}, {"a": "y"}]),
    ("enum removed", {**OBJ, **props(a={**S, "enum": ["x"]})}, {**OBJ, **props(a=S)}, Bump.ADDITION, ("$.a", "enum"),
     [{"a": "x"}]),
    ("enforced format added", {**OBJ, **props(a=S)}, {**OBJ, **props(a={**S, "format": "email"})},
     Bump.REVISION, ("$.a", "format"), [{"a": "a@example.com"}, {"a": "not an address"}]),
    ("format removed", {**OBJ, **props(a={**S, "format": "email"})}, {**OBJ, **props(a=S)}, Bump.ADDITION,
     ("$.a", "format"), [{"a": "a@example.com"}]),
    ("pattern changed", {**OBJ, **props(a={**S, "pattern": "^a"})}, {**OBJ, **props(a={**S, "pattern": "^ab"})},
     Bump.REVISION, ("$.a", "pattern"), [{"a": "abc"}, {"a": "ac"}]),
    ("pattern removed", {**OBJ, **props(a={**S, "pattern": "^a"})}, {**OBJ, **props(a=S)}, Bump.ADDITION,
     ("$.a", "pattern"), [{"a": "abc"}]),
    # several changes in one schema: each is reported
    ("two properties changed", {**OBJ, **props(a=S, b=S)}, {**OBJ, **props(a=I, b=I)}, Bump.REVISION, ("$.a", "type"),
     [{"a": "s"}, {}]),
    ("a property and the additionalProperties schema changed", {**OBJ, **props(a=S), "additionalProperties": SI},
     {**OBJ, **props(a=I), "additionalProperties": S}, Bump.REVISION, ("$.a", "type"), [{"a": "s"}, {}]),
    ("a property changed and another left to a pattern", {**OBJ, **props(a=S, x_b=S), "patternProperties": {"^x_": S},
                                                            **CLOSED},
     {**OBJ, **props(a=I), "patternProperties": {"^x_": S}, **CLOSED}, Bump.REVISION, ("$.a", "type"),
     [{"a": "s"}, {}]),
    ("a property changed and another left to additionalProperties",
     {**OBJ, **props(a=S, b=I), "additionalProperties": S},
     {**OBJ, **props(a=I), "additionalProperties": S}, Bump.REVISION, ("$.a", "type"), [{"a": "s"}, {}]),
    ("nested property no longer required", {**OBJ, **props(o={**OBJ, **props(x=S), "required": ["x"]})},
     {**OBJ, **props(o={**OBJ, **props(x=S)})}, Bump.ADDITION, ("$.o.x", "required"), [{"o": {"x": "s"}}]),
    ("exclusive minimum dropped", {**OBJ, **props(a={"type": "number", "minimum": 0, "exclusiveMinimum": True})},
     {**OBJ, **props(a={"type": "number", "minimum": 0})}, Bump.ADDITION, ("$.a", "minimum"), [{"a": 1}]),
    ("minimum lowered and made exclusive", {**OBJ, **props(a={"type": "number", "minimum": 10})},
     {**OBJ, **props(a={"type": "number", "minimum": 5, "exclusiveMinimum": True})}, Bump.ADDITION, ("$.a", "minimum"),
     [{"a": 10}]),
    ("minimum 5 made exclusive", {**OBJ, **props(a={"type": "number", "minimum": 5})},
     {**OBJ, **props(a={"type": "number", "minimum": 5, "exclusiveMinimum": True})}, Bump.REVISION, ("$.a", "minimum"),
     [{"a": 5}, {"a": 6}]),
    ("maximum written as a float lowered", {**OBJ, **props(a={"type": "number", "maximum": 10.0})},
     {**OBJ, **props(a={"type": "number", "maximum": 5.5})}, Bump.REVISION, ("$.a", "maximum"), [{"a": 7}, {"a": 1}]),
    ("enum added, listed in exactly 60 characters", {**OBJ, **props(a=S)},
     {**OBJ, **props(a={**S, "enum": ["a" * 56]})},
     Bump.REVISION, ("$.a", "enum"), [{"a": "a" * 56}, {"a": "b"}]),
    ("enum added, listed in 61 characters", {**OBJ, **props(a=S)}, {**OBJ, **props(a={**S, "enum": ["a" * 57]})},
     Bump.REVISION, ("$.a", "enum"), [{"a": "a" * 57}, {"a": "b"}]),
    ("enum reordered", {**OBJ, **props(a={"enum": ["x", "y"]})}, {**OBJ, **props(a={"enum": ["y", "x"]})},
     Bump.ADDITION, ("$.a", "enum"), [{"a": "x"}]),
    ("range out of reach and a length bound changed too",
     {**OBJ, **props(a={"type": "integer", "maximum": 10, "minLength": 1}), "required": ["a"]},
     {**OBJ, **props(a={"type": "integer", "minimum": 20, "minLength": 2}), "required": ["a"]}, Bump.MODEL,
     ("$.a", "minLength"), [{"a": 5}]),
    ("uniqueItems kept while maxItems lowered",
     {**OBJ, **props(l={"type": "array", "uniqueItems": True, "maxItems": 5})},
     {**OBJ, **props(l={"type": "array", "uniqueItems": True, "maxItems": 3})}, Bump.REVISION, ("$.l", "maxItems"),
     [{"l": [1, 2, 3, 4]}, {"l": [1]}]),
    ("property left to a pattern that narrows it", {**OBJ, **props(x_b=SI), "patternProperties": {"^x_": {}},
                                                     **CLOSED},
     {**OBJ, "patternProperties": {"^x_": S}, **CLOSED}, Bump.REVISION, ("$.x_b", "type"), [{"x_b": 1}, {"x_b": "s"}]),
    ("required property left to a pattern of another type",
     {**OBJ, **props(x_b=S), "required": ["x_b"], "patternProperties": {"^x_": {}}, **CLOSED},
     {**OBJ, "required": ["x_b"], "patternProperties": {"^x_": I}, **CLOSED}, Bump.MODEL, ("$.x_b", "type"),
     [{"x_b": "s"}]),
    ("required property left to an additionalProperties schema of another type",
     {**OBJ, **props(b=I), "required": ["b"], "additionalProperties": S},
     {**OBJ, "required": ["b"], "additionalProperties": S}, Bump.MODEL, ("$.b", "type"), [{"b": 1}]),
    ("new property wider than the additionalProperties schema", {**OBJ, "additionalProperties": S},
     {**OBJ, **props(b={"type": ["string", "null"]}), "additionalProperties": S}, Bump.ADDITION, ("$.b", "properties"),
     [{"b": "s"}]),
    ("additionalProperties from open to a schema", {**OBJ, **props(a=S)},
     {**OBJ, **props(a=S), "additionalProperties": I},
     Bump.REVISION, ("$.additionalProperties", "type"), [{"z": "s"}, {"a": "x"}]),
    ("patternProperties removed where additionalProperties accepts the same",
     {**OBJ, "patternProperties": {"^x_": S}, "additionalProperties": SI}, {**OBJ, "additionalProperties": SI},
     Bump.ADDITION, ("$.patternProperties[^x_]", "patternProperties"), [{"x_1": "s"}]),
    ("one dependency kept, another added", {**OBJ, "dependencies": {"a": ["b"]}},
     {**OBJ, "dependencies": {"a": ["b"], "c": ["d"]}}, Bump.REVISION, ("$", "dependencies"),
     [{"c": 1}, {"a": 1, "b": 2}]),
    ("dependency list reordered", {**OBJ, "dependencies": {"a": ["b", "c"]}},
     {**OBJ, "dependencies": {"a": ["c", "b"]}},
     Bump.ADDITION, ("$", "dependencies"), [{"a": 1, "b": 2, "c": 3}]),
    ("property dependency turned into a schema dependency", {**OBJ, "dependencies": {"a": ["b"]}},
     {**OBJ, "dependencies": {"a": props(b=S)}}, Bump.REVISION, ("$", "dependencies"),
     [{"a": 1, "b": 2}, {"a": 1, "b": "s"}]),
    ("two schema dependencies narrowed", {**OBJ, "dependencies": {"a": props(b=SI), "c": props(d=SI)}},
     {**OBJ, "dependencies": {"a": props(b=S), "c": props(d=S)}}, Bump.REVISION, ("$.dependencies[a].b", "type"),
     [{"a": 1, "b": 2}, {"a": 1, "b": "s"}]),
    ("tuple loses an item to open additionalItems", {**OBJ, **props(l={"type": "array", "items": [S, I]})},
     {**OBJ, **props(l={"type": "array", "items": [S]})}, Bump.ADDITION, ("$.l[1]", "type"), [{"l": ["a", 1]}]),
    ("two tuple items narrowed", {**OBJ, **props(l={"type": "array", "items": [SI, SI]})},
     {**OBJ, **props(l={"type": "array", "items": [S, S]})}, Bump.REVISION, ("$.l[0]", "type"),
     [{"l": [1, 1]}, {"l": ["a", "b"]}]),
    ("two allOf members narrowed", {**OBJ, "allOf": [props(a=SI), props(b=SI)]},
     {**OBJ, "allOf": [props(a=S), props(b=S)]}, Bump.REVISION, ("$.allOf[0].a", "type"), [{"a": 1}, {"a": "s"}]),
    ("allOf member gains a new required property", {**OBJ, "allOf": [props(a=S)]},
     {**OBJ, "allOf": [{**props(a=S, b=S), "required": ["b"]}]}, Bump.MODEL, ("$.allOf[0].b", "required"),
     [{"a": "s"}, {}]),
    ("anyOf reordered", {**OBJ, **props(a={"anyOf": [S, I]})}, {**OBJ, **props(a={"anyOf": [I, S]})}, Bump.ADDITION,
     ("$.a", "anyOf"), [{"a": "s"}]),
    ("type removed", {**OBJ, **props(a=S)}, {**OBJ, **props(a={})}, Bump.ADDITION, ("$.a", "type"), [{"a": "s"}]),
    # a type replaced inside something optional hits only the data that holds it
    ("additionalProperties schema replaced by another type", {**OBJ, "additionalProperties": S},
     {**OBJ, "additionalProperties": I}, Bump.REVISION, ("$.additionalProperties", "type"), [{"z": "s"}, {}]),
    ("patternProperties schema replaced by another type", {**OBJ, "patternProperties": {"^x_": S}},
     {**OBJ, "patternProperties": {"^x_": I}}, Bump.REVISION, ("$.patternProperties[^x_]", "type"),
     [{"x_1": "s"}, {}]),
    ("schema dependency replaced by another type", {**OBJ, "dependencies": {"a": props(b=S)}},
     {**OBJ, "dependencies": {"a": props(b=I)}}, Bump.REVISION, ("$.dependencies[a].b", "type"),
     [{"a": 1, "b": "s"}, {"b": "s"}]),
    ("schema dependency's own type replaced", {**OBJ, "dependencies": {"a": OBJ}},
     {**OBJ, "dependencies": {"a": {"type": "array"}}}, Bump.REVISION, ("$.dependencies[a]", "type"),
     [{"a": 1}, {}]),
    ("tuple item replaced by another type", {**OBJ, **props(l={"type": "array", "items": [S]}), "required": ["l"]},
     {**OBJ, **props(l={"type": "array", "items": [I]}), "required": ["l"]}, Bump.REVISION, ("$.l[0]", "type"),
     [{"l": ["a"]}, {"l": []}]),
    # multipleOf: a multiple of the new divisor must be a multiple of the old one
    ("multipleOf 2 to 4", {**OBJ, **props(a={"type": "integer", "multipleOf": 2})},
     {**OBJ, **props(a={"type": "integer", "multipleOf": 4})}, Bump.REVISION, ("$.a", "multipleOf"),
     [{"a": 2}, {"a": 8}]),
    ("multipleOf 4 to 2", {**OBJ, **props(a={"type": "integer", "multipleOf": 4})},
     {**OBJ, **props(a={"type": "integer", "multipleOf": 2})}, Bump.ADDITION, ("$.a", "multipleOf"),
     [{"a": 4}, {"a": -8}, {"a": 0}]),
    ("multipleOf 2 to 3", {**OBJ, **props(a={"type": "integer", "multipleOf": 2})},
     {**OBJ, **props(a={"type": "integer", "multipleOf": 3})}, Bump.REVISION, ("$.a", "multipleOf"),
     [{"a": 2}, {"a": 6}]),
    ("multipleOf 0.3 to 0.1, decided in decimal as validation decides it",
     {**OBJ, **props(a={"type": "number", "multipleOf": 0.3})},
     {**OBJ, **props(a={"type": "number", "multipleOf": 0.1})}, Bump.ADDITION, ("$.a", "multipleOf"),
     [{"a": 0.3}, {"a": 0.9}, {"a": 2.1}]),
    ("multipleOf 0.1 to 0.3", {**OBJ, **props(a={"type": "number", "multipleOf": 0.1})},
     {**OBJ, **props(a={"type": "number", "multipleOf": 0.3})}, Bump.REVISION, ("$.a", "multipleOf"),
     [{"a": 0.3}, {"a": 0.7}]),
    ("multipleOf added", {**OBJ, **props(a=I)}, {**OBJ, **props(a={"type": "integer", "multipleOf": 5})},
     Bump.REVISION, ("$.a", "multipleOf"), [{"a": 1}, {"a": 10}]),
    ("multipleOf removed", {**OBJ, **props(a={"type": "integer", "multipleOf": 5})}, {**OBJ, **props(a=I)},
     Bump.ADDITION, ("$.a", "multipleOf"), [{"a": 5}]),
    # patternProperties: what a name matching the pattern may hold
    ("patternProperties added to an open object", {**OBJ, **props(a=S)},
     {**OBJ, **props(a=S), "patternProperties": {"^x_": S}}, Bump.REVISION, ("$.patternProperties[^x_]",
                                                                             "patternProperties"),
     [{"x_1": 1}, {"x_1": "s"}]),
    ("patternProperties removed from an open object", {**OBJ, "patternProperties": {"^x_": S}}, OBJ,
     Bump.ADDITION, ("$.patternProperties[^x_]", "patternProperties"), [{"x_1": "s"}, {"y": 1}]),
    ("patternProperties removed from a closed object", {**OBJ, "patternProperties": {"^x_": S}, **CLOSED},
     {**OBJ, **CLOSED}, Bump.REVISION, ("$.patternProperties[^x_]", "patternProperties"), [{"x_1": "s"}, {}]),
    ("patternProperties removed where additionalProperties has a schema",
     {**OBJ, "patternProperties": {"^x_": {}}, "additionalProperties": S},
     {**OBJ, "additionalProperties": S}, Bump.REVISION, ("$.patternProperties[^x_]", "patternProperties"),
     [{"x_1": 1}, {"x_1": "s"}]),
    ("patternProperties tightened", {**OBJ, "patternProperties": {"^x_": SI}},
     {**OBJ, "patternProperties": {"^x_": S}}, Bump.REVISION, ("$.patternProperties[^x_]", "type"),
     [{"x_1": 1}, {"x_1": "s"}]),
    ("patternProperties widened", {**OBJ, "patternProperties": {"^x_": S}},
     {**OBJ, "patternProperties": {"^x_": SI}}, Bump.ADDITION,
     ("$.patternProperties[^x_]", "type"), [{"x_1": "s"}]),
    ("property removed from a closed object whose pattern does not cover it",
     {**OBJ, **props(b=I), "patternProperties": {"^x_": S}, **CLOSED},
     {**OBJ, "patternProperties": {"^x_": S}, **CLOSED}, Bump.REVISION, ("$.b", "properties"),
     [{"b": 1}, {"x_1": "s"}]),
    ("property removed from a closed object into a pattern that covers it",
     {**OBJ, **props(x_b=S), "patternProperties": {"^x_": S}, **CLOSED},
     {**OBJ, "patternProperties": {"^x_": S}, **CLOSED}, Bump.ADDITION, ("$.x_b", "properties"), [{"x_b": "s"}]),
    # dependencies: what a present property demands of the rest
    ("property dependency added", {**OBJ, **props(a=S, b=S)},
     {**OBJ, **props(a=S, b=S), "dependencies": {"a": ["b"]}}, Bump.REVISION, ("$", "dependencies"),
     [{"a": "x"}, {"a": "x", "b": "y"}]),
    ("property dependency removed", {**OBJ, **props(a=S, b=S), "dependencies": {"a": ["b"]}},
     {**OBJ, **props(a=S, b=S)}, Bump.ADDITION, ("$", "dependencies"), [{"a": "x", "b": "y"}, {}]),
    ("property dependency demands more", {**OBJ, "dependencies": {"a": ["b"]}},
     {**OBJ, "dependencies": {"a": ["b", "c"]}}, Bump.REVISION, ("$", "dependencies"),
     [{"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}]),
    ("property dependency demands less", {**OBJ, "dependencies": {"a": ["b", "c"]}},
     {**OBJ, "dependencies": {"a": ["b"]}}, Bump.ADDITION, ("$", "dependencies"), [{"a": 1, "b": 2, "c": 3}, {"b": 1}]),
    ("schema dependency tightened", {**OBJ, "dependencies": {"a": props(b=SI)}},
     {**OBJ, "dependencies": {"a": props(b=S)}}, Bump.REVISION, ("$.dependencies[a].b", "type"),
     [{"a": 1, "b": 2}, {"a": 1, "b": "s"}]),
    ("schema dependency widened", {**OBJ, "dependencies": {"a": props(b=S)}},
     {**OBJ, "dependencies": {"a": props(b=SI)}}, Bump.ADDITION,
     ("$.dependencies[a].b", "type"), [{"a": 1, "b": "s"}, {"b": 3}]),
]


@pytest.mark.parametrize(("old", "new", "expected", "where", "instances"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classification(old: dict, new: dict, expected: Bump, where: tuple[str, str] | None,
                        instances: list[dict]) -> None:
    report = compare_schemas(old, new)
    assert report.required is expected, [c.to_json() for c in report.changes]
    if where is not None:
        assert any((c.path, c.keyword) == where for c in report.changes), [c.to_json() for c in report.changes]
    else:
        assert all(c.effect is Effect.NONE for c in report.changes)
    # the classification must tell the truth about real instances
    old_v, new_v = (ReferenceValidator(x, format_checker=format_checker()) for x in (old, new))
    assert all(old_v.is_valid(i) for i in instances), "fixture instances must be valid under OLD"
    survivors = [new_v.is_valid(i) for i in instances]
    if expected is Bump.ADDITION:
        assert all(survivors)
    elif expected is Bump.REVISION:
        assert not all(survivors)
    else:
        assert not any(survivors)


def test_there_are_at_least_twenty_pairs() -> None:
    assert len(CASES) >= 20


def self_block(version: str) -> dict:
    return {"self": {"vendor": "com.acme", "name": "click", "format": "jsonschema", "version": version}}


def test_the_bump_must_be_at_least_what_the_change_needs() -> None:
    old = {**self_block("1-0-0"), **OBJ, **props(a=S)}
    new = {**self_block("1-0-1"), **OBJ, **props(a=S), "required": ["a"]}
    report = compare_schemas(old, new)
    assert report.required is Bump.REVISION and report.actual is Bump.ADDITION
    assert report.problem == ("1-0-0 -> 1-0-1 is an ADDITION bump, but the change needs at least a REVISION bump "
                              "(1-1-0)")
    bigger = compare_schemas(old, {**new, **self_block("2-0-0")})
    assert bigger.problem is None and bigger.actual is Bump.MODEL
    backwards = compare_schemas(new, {**old, **self_block("1-0-0")})
    assert backwards.problem == "1-0-0 is not newer than 1-0-1"
    body = report.to_json()
    assert body["classification"] == "REVISION" and body["ok"] is False
    assert body["changes"][0]["path"] == "$.a" and body["changes"][0]["requires"] == "REVISION"


REPORTS = Path(__file__).with_name("compat_reports.json")


def reports() -> dict[str, object]:
    return {name: compare_schemas(old, new).to_json() for name, old, new, *_ in CASES}


def test_every_report_says_exactly_what_was_reviewed() -> None:
    """Paths, keywords, order and reasons of every row's report, as reviewed in compat_reports.json.

    After a deliberate change, rewrite it and review the diff:
    ``.venv/bin/python -c "from tests.unit.iglu_registry.test_compat import write_reports; write_reports()"``
    """
    assert reports() == json.loads(REPORTS.read_text(encoding="utf-8"))


def write_reports() -> None:
    REPORTS.write_text(json.dumps(reports(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def test_what_cannot_be_analysed_is_a_revision() -> None:
    unknown = compare_schemas({**OBJ, **props(a=S)}, {**OBJ, **props(a={**S, "contentEncoding": "base64"})})
    assert [(c.path, c.keyword, c.effect) for c in unknown.changes] == [("$.a", "contentEncoding", Effect.SOME)]
    assert unknown.changes[0].reason == "'contentEncoding' changed; its effect on data is not analysed"
    gone = compare_schemas({**OBJ, **props(a={**S, "contentEncoding": "base64"})}, {**OBJ, **props(a=S)})
    assert [(c.path, c.keyword, c.effect) for c in gone.changes] == [("$.a", "contentEncoding", Effect.SOME)]
    odd = compare_schemas({**OBJ, **props(a=1)}, {**OBJ, **props(a=2)})
    assert [(c.path, c.keyword, c.effect) for c in odd.changes] == [("$.a", "schema", Effect.SOME)]
    assert odd.changes[0].reason == "the sub-schema is not an object; its change could not be analysed"
    same_odd = compare_schemas({**OBJ, **props(a=1, b=S)}, {**OBJ, **props(a=1, b=I)})
    assert [(c.path, c.keyword) for c in same_odd.changes] == [("$.b", "type")]
    reordered = compare_schemas({**OBJ, **props(a={**S, "x-meta": {"p": 1, "q": 2}})},
                                {**OBJ, **props(a={**S, "x-meta": {"q": 2, "p": 1}})})
    assert reordered.changes == ()
    assert compare_schemas({**OBJ, **props(a=1)}, {**OBJ, **props(a=1)}).changes == ()
    mixed = compare_schemas({**OBJ, **props(a=S)}, {**OBJ, **props(a=[S])})
    assert [(c.path, c.keyword, c.effect) for c in mixed.changes] == [("$.a", "schema", Effect.SOME)]


def test_a_required_name_matched_only_by_an_invalid_pattern_counts_as_undeclared() -> None:
    report = compare_schemas({**OBJ, "patternProperties": {"(": S}}, {**OBJ, "patternProperties": {"(": S},
                                                                      "required": ["a"]})
    assert report.required is Bump.MODEL


def test_the_problem_names_the_bump_the_change_needs() -> None:
    old = {**self_block("1-0-0"), **OBJ, **props(a=S), **CLOSED}
    model = {**self_block("1-1-0"), **OBJ, **props(a=S, b=S), "required": ["b"], **CLOSED}
    report = compare_schemas(old, model)
    assert report.problem == ("1-0-0 -> 1-1-0 is a REVISION bump, but the change needs at least a MODEL bump "
                              "(2-0-0)")
    assert report.to_json()["old"] == "iglu:com.acme/click/jsonschema/1-0-0"
    assert report.to_json()["new"] == "iglu:com.acme/click/jsonschema/1-1-0"
    assert report.to_json()["bump"] == "REVISION"
    other = {**model, "self": {**model["self"], "name": "view"}}
    assert compare_schemas(old, other).problem == ("iglu:com.acme/click/jsonschema/1-0-0 and "
                                                   "iglu:com.acme/view/jsonschema/1-1-0 are different schemas, "
                                                   "not two versions of one")
    assert compare_schemas(old, {**model, "self": "broken"}).to_json()["new"] is None
