"""Input validation of the domain: pure checks over the request messages, one module per asset."""

from orchestrator.shared.validation.algo import validate_new_algo
from orchestrator.shared.validation.computeplan import validate_new_compute_plan
from orchestrator.shared.validation.computetask import validate_new_compute_task
from orchestrator.shared.validation.datamanager import validate_new_data_manager
from orchestrator.shared.validation.datasample import validate_new_data_sample, validate_update_data_samples
from orchestrator.shared.validation.failure_report import validate_new_failure_report
from orchestrator.shared.validation.model import validate_new_model
from orchestrator.shared.validation.performance import validate_new_performance

__all__ = [
    "validate_new_algo",
    "validate_new_compute_plan",
    "validate_new_compute_task",
    "validate_new_data_manager",
    "validate_new_data_sample",
    "validate_new_failure_report",
    "validate_new_model",
    "validate_new_performance",
    "validate_update_data_samples",
]
