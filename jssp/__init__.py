"""Job-shop scheduling core: instances, parsing, schedules, validation, rules, CP-SAT, environments.

This package never imports torch; learned policies live in ``agents``.
"""

from jssp.instance import Instance, InstanceError
from jssp.parsing import InstanceFormatError, list_instances, parse_instance, read_instance
from jssp.schedule import Schedule
from jssp.validation import InfeasibleScheduleError, check_schedule, find_violations

__all__ = [
    "InfeasibleScheduleError",
    "Instance",
    "InstanceError",
    "InstanceFormatError",
    "Schedule",
    "check_schedule",
    "find_violations",
    "list_instances",
    "parse_instance",
    "read_instance",
]
