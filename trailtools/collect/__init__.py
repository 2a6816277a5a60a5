"""``trailtools collect CASE_DIR``: copy what the investigations can use, before AWS deletes it, into a case folder
with a chain of custody (docs/collect.md).

- :mod:`.plan` the scope (window, regions, instances, principals, where the trail is) and the jobs to run;
- :mod:`.trail` the trail's log files, digests (+ signature sidecars) and public keys, or LookupEvents;
- :mod:`.instances` EC2 (instances, status and scheduled events, console output and screenshot) and CloudWatch
  (status-check metrics, alarm history); :mod:`.health` AWS Health; :mod:`.cost` Cost Explorer (``--cost``), with
  the resource-level cost of EC2; :mod:`.cur` the Cost and Usage Report's objects of the window (``--cur``);
- :mod:`.objects` the bounded, resumable S3 copy the trail and the CUR share;
- :mod:`.store` safe paths and append-only writes (a changed response goes to ``runs/<run>/``; the readers read
  the newest copy, :func:`trailtools.integrity.case.newest_copy`); :mod:`.manifest` ``manifest.json``;
  :mod:`.context` what every collector is given; :mod:`.run` one run, its notes (not collected, expiring) and its
  manifest entry.

    from trailtools.collect.run import collect
    result = collect("case-42", instances=["i-0abc..."], trail="s3://my-trail-bucket", start="2026-10-05")
"""
