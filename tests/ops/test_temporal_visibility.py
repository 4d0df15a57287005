import uuid

from temporalio.client import Client

from api.settings import Settings
from api.temporal import (
    OWNER_ID,
    WORKFLOW_ID,
    WORKFLOW_VERSION,
    TemporalGateway,
    execution_id_of,
    execution_workflow_id,
    tls_config,
)
from embedded.temporal_server import DevServer
from tests.service import Service


def test_workflow_ids_are_readable_and_give_back_the_execution_id() -> None:
    execution_id = str(uuid.uuid4())

    workflow_id = execution_workflow_id("Lead scoring: EU/UK", execution_id)

    assert workflow_id == f"lead-scoring-eu-uk-{execution_id}"
    assert execution_id_of(workflow_id) == execution_id
    assert execution_workflow_id("???", execution_id) == f"execution-{execution_id}"
    assert execution_id_of("some-other-workflow") is None


async def test_executions_carry_memo_and_search_attributes(
    service: Service, temporal_client: Client
) -> None:
    headers = await service.register_and_login()
    me = (await service.client.get("/api/auth/me", headers=headers)).json()["data"]
    definition = {"nodes": [{"id": "start", "type": "start", "data": {}}], "edges": []}
    workflow_id = await service.create_workflow(headers, definition, name="Nightly")
    execution_id = await service.execute(headers, workflow_id)
    execution = await service.wait_for_status(headers, execution_id, {"completed"})

    assert execution["temporal_workflow_id"] == f"nightly-{execution_id}"
    handle = temporal_client.get_workflow_handle(execution["temporal_workflow_id"])
    description = await handle.describe()
    attributes = description.typed_search_attributes
    assert attributes.get(OWNER_ID) == me["id"]
    assert attributes.get(WORKFLOW_ID) == workflow_id
    assert attributes.get(WORKFLOW_VERSION) == 1
    memo = await description.memo()
    assert memo["execution_id"] == execution_id


async def test_a_namespace_without_the_attributes_gets_executions_without_them(
    temporal_server: DevServer, temporal_client: Client
) -> None:
    namespace = f"bare-{uuid.uuid4().hex[:8]}"
    await temporal_client.workflow_service.register_namespace(
        _register_request(namespace)
    )
    settings = Settings(
        temporal_address=temporal_server.address, temporal_namespace=namespace
    )

    attributes = await TemporalGateway(settings).search_attributes("u", "w", 1)

    assert len(attributes) == 0


def test_tls_is_mutual_with_files_and_plain_with_an_api_key(tmp_path) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")

    mutual = tls_config(Settings(temporal_tls_cert=cert, temporal_tls_key=key))
    keyed = tls_config(Settings(temporal_api_key="k"))

    assert not isinstance(mutual, bool)
    assert (mutual.client_cert, mutual.client_private_key) == (b"CERT", b"KEY")
    assert keyed is True
    assert tls_config(Settings()) is False


def _register_request(namespace: str) -> object:
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

    return RegisterNamespaceRequest(
        namespace=namespace,
        workflow_execution_retention_period=Duration(seconds=86400),
    )
