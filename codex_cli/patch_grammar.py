"""The apply_patch tool as the model sees it: the description and the Lark grammar of the patch language.

Kept apart from `patch.py` (the engine, which re-exports both) so that offering the tool in a request does not
import the engine: `tools.py` imports `patch` when the model first runs a command or sends a patch.
"""

from __future__ import annotations

__all__ = ["APPLY_PATCH_LARK_GRAMMAR", "APPLY_PATCH_TOOL_DESCRIPTION"]

# Our own grammar for the patch language, for providers that constrain freeform tool input.
APPLY_PATCH_LARK_GRAMMAR = r"""
start: "*** Begin Patch" NL file_op+ "*** End Patch" NL?
file_op: add_file | delete_file | update_file
add_file: "*** Add File: " PATH NL added_line+
delete_file: "*** Delete File: " PATH NL
update_file: "*** Update File: " PATH NL move_to? edit_block?
move_to: "*** Move to: " PATH NL
edit_block: (section_header | diff_line)+ end_of_file?
section_header: "@@" TEXT? NL
diff_line: DIFF_MARK TEXT? NL
added_line: "+" TEXT? NL
end_of_file: "*** End of File" NL
DIFF_MARK: /[ +-]/
PATH: /[^\n]+/
TEXT: /[^\n]+/
NL: "\n"
"""

APPLY_PATCH_TOOL_DESCRIPTION = (
    "Create, edit, move or delete files by sending a patch as plain text (not JSON). "
    "The patch starts with '*** Begin Patch' and ends with '*** End Patch'. In between, each file gets one "
    "section: '*** Add File: <path>' followed by the new content, every line prefixed with '+'; "
    "'*** Delete File: <path>'; or '*** Update File: <path>', optionally followed by '*** Move to: <new path>', "
    "then one or more change blocks. A change block starts with '@@' (or '@@ <one line near the change, such "
    "as a def or class line>') and lists lines prefixed with ' ' (unchanged context, about three lines before "
    "and after each change), '-' (removed) or '+' (added). Blocks must follow file order. Use paths relative "
    "to the working directory."
)
