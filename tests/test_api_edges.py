def test_an_unknown_api_path_answers_in_the_error_shape(client):
    response = client.get("/api/v1/no-such-thing", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "There is no such API operation.",
        "detail": {"path": "/api/v1/no-such-thing"},
    }


def test_the_unknown_path_message_is_chinese_by_default(client):
    assert client.get("/api/v1/no-such-thing").json()["message"] == "没有这个 API 操作。"


def test_a_huge_list_offset_is_refused_not_a_server_error(world, api):
    response = api(world.agent, "en").get("/api/v1/merchants?offset=18299287641945173772992512")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_offset"
