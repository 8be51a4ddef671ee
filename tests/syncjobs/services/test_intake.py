from __future__ import annotations

import pytest

from catalog.models import Product
from catalog.validation import product_validate
from config.api.errors import ConflictError, NotFoundError
from syncjobs.models import SyncJob
from syncjobs.services.intake import job_intake_delete, job_intake_product
from tests.factories.catalog import product_payload

pytestmark = pytest.mark.django_db


def intake(*, converge=False, **overrides):
    payload = product_payload(**overrides)
    data = product_validate(payload, check_categories=lambda ids: [])
    return job_intake_product(data=data, payload=payload, source="webhook" if converge else "api", converge=converge)


def test_create_stores_the_product_and_a_pending_job():
    job = intake(reference="IN1", name="Intake")
    assert (job.status, job.operation, job.reference) == ("pending", "create", "IN1")
    assert Product.objects.get(reference="IN1").name == "Intake"
    assert job.product_version == Product.objects.get(reference="IN1").version


def test_api_semantics_refuse_create_of_a_held_and_update_of_an_unknown_reference():
    intake(reference="IN2")
    with pytest.raises(ConflictError):
        intake(reference="IN2")
    with pytest.raises(NotFoundError):
        intake(reference="IN3", operation="update")
    assert SyncJob.objects.count() == 1


def test_event_semantics_converge():
    intake(reference="IN4", operation="update", converge=True)
    job = intake(reference="IN4", operation="create", converge=True, name="Changed")
    assert job.operation == "update" and Product.objects.get(reference="IN4").name == "Changed"


def test_delete_marks_the_product_deleted_and_unknown_references_are_404_unless_allowed():
    intake(reference="IN5")
    job = job_intake_delete(reference="IN5", source="api")
    assert job.operation == "delete" and Product.objects.get(reference="IN5").is_deleted
    with pytest.raises(NotFoundError):
        job_intake_delete(reference="IN5", source="api")
    assert job_intake_delete(reference="NEVER", source="webhook", allow_unknown=True).product is None
