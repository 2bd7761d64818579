"""A command-generating assistant tested turn by turn: each turn is matched by its whole
history, so the same short reply ("@barts") gets the right command in each conversation."""

from openai import OpenAI

SYSTEM = (
    "You are a command generator for a contacts assistant. Answer with one command per line, "
    "using only: start flow FLOW_NAME, set slot SLOT_NAME VALUE, cancel flow."
)


class CommandGenerator:
    """The application code under test: it keeps the history and asks the LLM each turn."""

    def __init__(self, client: OpenAI, model: str = "mock-gpt-4") -> None:
        self.client = client
        self.model = model
        self.messages = [{"role": "system", "content": SYSTEM}]

    def handle(self, user_text: str) -> str:
        self.messages.append({"role": "user", "content": user_text})
        reply = self.client.chat.completions.create(
            model=self.model, messages=self.messages, temperature=0
        )
        command = reply.choices[0].message.content
        self.messages.append({"role": "assistant", "content": command})
        return command


def test_adding_a_contact_takes_three_turns(llm_mock_server):
    bot = CommandGenerator(llm_mock_server.openai_client())

    assert bot.handle("I want to add someone to my contact list") == "start flow add_contact"
    assert bot.handle("@barts") == "set slot add_contact_handle @barts"
    assert bot.handle("Bart") == "set slot add_contact_name Bart"
    llm_mock_server.assert_call_count(3, model="mock-gpt-4")


def test_the_same_reply_in_another_conversation(llm_mock_server):
    bot = CommandGenerator(llm_mock_server.openai_client())

    assert bot.handle("Please remove a contact") == "start flow remove_contact"
    assert bot.handle("@barts") == "set slot remove_contact_handle @barts"
