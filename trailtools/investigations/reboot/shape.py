"""Which instance it is: its Name tag and instance type, for the verdict (pure; no I/O).

From describe-instances when it was consulted (what the instance is now), else from the trail: ``RunInstances``
(the type and the tags it was launched with), ``CreateTags`` (a Name set later: the last one wins) and
``ModifyInstanceAttribute`` (a resize: the last type set wins).
"""
from __future__ import annotations

from trailtools.investigations.reboot.remote import parsed_json


def _items(value) -> list:
    """CloudTrail's EC2 lists: ``{"items": [...]}`` or a plain list; anything else is empty."""
    if isinstance(value, dict):
        value = value.get("items")
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _name_tag(tags) -> str | None:
    return next((str(t.get("value")) for t in tags if t.get("key") == "Name" and t.get("value") is not None), None)


def from_trail(instance: str, calls: list[dict]) -> tuple[str | None, str | None]:
    """(Name tag, instance type) as the instance's calls set them (oldest first), each None when none did."""
    name = kind = None
    for c in sorted((c for c in calls if not c.get("errorCode")), key=lambda c: c["eventTime"]):
        event, req = c.get("eventName"), parsed_json(c.get("requestParameters"))
        if event == "RunInstances":
            for item in _items(parsed_json(c.get("responseElements")).get("instancesSet")):
                if item.get("instanceId") == instance:
                    kind = item.get("instanceType") or kind
                    name = _name_tag(_items(item.get("tagSet"))) or name
            for spec in _items(req.get("tagSpecificationSet")):
                if spec.get("resourceType") == "instance":
                    name = name or _name_tag([t for t in spec.get("tags") or [] if isinstance(t, dict)])
        elif event == "CreateTags" and instance in [r.get("resourceId") for r in _items(req.get("resourcesSet"))]:
            name = _name_tag(_items(req.get("tagSet"))) or name
        elif event == "ModifyInstanceAttribute" and req.get("instanceId") == instance:
            value = req.get("instanceType")
            kind = (value.get("value") if isinstance(value, dict) else value) or kind
    return name, kind


def name_and_type(instance: str, calls: list[dict], facts: list[dict]) -> tuple[str | None, str | None]:
    """describe-instances' Name tag and type for ``instance``, each completed from the trail when missing."""
    mine = [f for f in facts if f.get("instanceId") in (instance, None)]
    name = next((f.get("name") for f in mine if f.get("name")), None)
    kind = next((f.get("instanceType") for f in mine if f.get("instanceType")), None)
    if name and kind:
        return name, kind
    trail_name, trail_kind = from_trail(instance, calls)
    return name or trail_name, kind or trail_kind
