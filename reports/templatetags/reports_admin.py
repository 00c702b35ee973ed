"""`{% open_report_count %}`: the number of open reports, for the admin's index page."""

from __future__ import annotations

from django import template

from reports.selectors import open_report_count as count

register = template.Library()


@register.simple_tag
def open_report_count() -> int:
    return count()
