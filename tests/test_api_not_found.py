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
