"""Conversations: people's persisted chats and their messages, always read and written through their owner."""

from sophia.conversations._rows import ConversationRow, MessageRow
from sophia.conversations._service import Citation, ConversationInfo, ConversationService, MessageInfo

__all__ = [
    "Citation",
    "ConversationInfo",
    "ConversationRow",
    "ConversationService",
    "MessageInfo",
    "MessageRow",
]
