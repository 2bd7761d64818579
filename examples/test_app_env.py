"""`llm_mock_env` points an app that builds its own client at the mock, with no code change."""

from examples.app.assistant import greet


def test_app_reads_the_environment(llm_mock_env, llm_mock_server):
    assert greet("bot") == "bot: Hello! How can I help you today?"
    llm_mock_server.assert_called_once(last_user_message="Hello")
