"""Reads of reports."""

from __future__ import annotations

from reports.models import Report, ReportStatus


def open_report_count() -> int:
    return Report.objects.filter(status=ReportStatus.OPEN).count()
