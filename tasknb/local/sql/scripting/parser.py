"""Snowflake Scripting text -> :mod:`.nodes`, read from sqlglot's Snowflake tokens.

    >>> block = parse_block("DECLARE n INT DEFAULT 2; BEGIN FOR i IN 1 TO n DO n := n + i; END FOR; RETURN n; END")
    >>> [type(node).__name__ for node in block.body], block.declarations[0].default.text
    (['ForRange', 'Return'], '2')

Only the block structure is read here; expressions and SQL statements are kept as text for
the engine. What is not Snowflake Scripting fails with 001003 at the line and position of
the token that does not fit, as Snowflake reports a syntax error.
"""

from __future__ import annotations

from functools import lru_cache

from sqlglot.tokens import Token, TokenType

from tasknb.local.sql.errors import CODE_SYNTAX, TaskSqlError
from tasknb.local.sql.scripting import nodes as n
from tasknb.local.sql.statements import is_block_begin, matching_end, statement_end, tokenize

#: Parsed blocks kept (a task's body, a procedure's body: parsed once, run at every call).
PARSE_CACHE_SIZE = 512

_STRINGS = (TokenType.STRING, TokenType.RAW_STRING)
_LOOP_BODY = ("DO", "LOOP")


def word(token: Token) -> str:
    """The token's text upper-cased, or "" for a string literal."""
    return "" if token.token_type in _STRINGS else token.text.upper()


def fold_name(token: Token) -> str:
    """A variable or object name as Snowflake resolves it (unquoted: upper case)."""
    if token.token_type == TokenType.IDENTIFIER:
        return token.text
    return token.text.upper()


def syntax_error(text: str, token: Token | None, expected: str) -> TaskSqlError:
    if token is None:
        return TaskSqlError(CODE_SYNTAX, "SQL compilation error:\nsyntax error: unexpected end "
                            f"of the block; expected {expected}.", "42000")
    line, column = position_of(text, token)
    return TaskSqlError(
        CODE_SYNTAX,
        f"SQL compilation error:\nsyntax error line {line} at position {column} unexpected "
        f"'{token.text}'; expected {expected}.",
        "42000",
    )


def position_of(text: str, token: Token) -> tuple[int, int]:
    """(line, column) of a token: 1-based line, 0-based column."""
    return text.count("\n", 0, token.start) + 1, token.start - (text.rfind("\n", 0, token.start) + 1)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    # ------------------------------------------------------------------ token helpers
    def peek(self, ahead: int = 0) -> Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def peek_word(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return "" if token is None else word(token)

    def where(self, token: Token | None = None) -> n.Where:
        token = token or self.peek() or self.tokens[-1]
        return n.Where(*position_of(self.text, token))

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise syntax_error(self.text, None, "more")
        self.pos += 1
        return token

    def expect(self, *words: str) -> Token:
        token = self.peek()
        if token is None or word(token) not in words:
            raise syntax_error(self.text, token, " or ".join(words))
        self.pos += 1
        return token

    def accept(self, *words: str) -> bool:
        if self.peek_word() in words and self.peek() is not None:
            self.pos += 1
            return True
        return False

    def semicolon(self) -> None:
        token = self.peek()
        if token is not None and token.token_type == TokenType.SEMICOLON:
            self.pos += 1
            return
        raise syntax_error(self.text, token, "';'")

    def optional_semicolon(self) -> None:
        token = self.peek()
        if token is not None and token.token_type == TokenType.SEMICOLON:
            self.pos += 1

    def name(self) -> str:
        token = self.peek()
        if token is None or token.token_type in _STRINGS or token.token_type == TokenType.SEMICOLON:
            raise syntax_error(self.text, token, "a name")
        self.pos += 1
        return fold_name(token)

    def text_until(self, *stops: str, semicolon: bool = True) -> tuple[str, Token]:
        """The text from here to the first stop word (or ';') outside brackets and CASE."""
        start = self.peek()
        if start is None:
            raise syntax_error(self.text, None, "an expression")
        depth = 0
        while True:
            token = self.peek()
            if token is None:
                break
            kind, upper = token.token_type, word(token)
            if depth == 0 and (upper in stops or (semicolon and kind == TokenType.SEMICOLON)):
                break
            if kind in (TokenType.L_PAREN, TokenType.L_BRACKET) or upper == "CASE":
                depth += 1
            elif kind in (TokenType.R_PAREN, TokenType.R_BRACKET) or (upper == "END" and depth):
                depth -= 1
            self.pos += 1
        last = self.tokens[self.pos - 1]
        if self.pos == self.tokens.index(start):
            raise syntax_error(self.text, start, "an expression")
        return self.text[start.start : last.end + 1], start

    def expr_until(self, *stops: str, semicolon: bool = True) -> n.Expr:
        text, start = self.text_until(*stops, semicolon=semicolon)
        return n.Expr(text, self.where(start))

    def sql_statement(self) -> n.Sql:
        start = self.pos
        stop = statement_end(self.tokens, start)
        if stop >= len(self.tokens) or self.tokens[stop].token_type != TokenType.SEMICOLON:
            raise syntax_error(self.text, self.tokens[stop - 1] if stop else None, "';'")
        first, last = self.tokens[start], self.tokens[stop - 1]
        self.pos = stop
        return n.Sql(self.where(first), self.text[first.start : last.end + 1])

    # ------------------------------------------------------------------- the grammar
    def block(self) -> n.Block:
        where = self.where()
        declarations: list[n.Node] = []
        if self.accept("DECLARE"):
            while self.peek() is not None and not is_block_begin(self.tokens, self.pos):
                declarations.append(self.declaration())
        if not is_block_begin(self.tokens, self.pos):
            raise syntax_error(self.text, self.peek(), "BEGIN")
        self.take()
        body = self.statements("EXCEPTION", "END")
        handlers: list[n.Handler] = []
        if self.accept("EXCEPTION"):
            while self.accept("WHEN"):
                names = [self.name()]
                while self.accept("OR"):
                    names.append(self.name())
                self.expect("THEN")
                handlers.append(n.Handler(tuple(names), self.statements("WHEN", "END")))
        self.expect("END")
        if self.peek() is not None and self.peek().token_type not in (TokenType.SEMICOLON,):  # type: ignore[union-attr]
            self.name()  # END <label>
        return n.Block(where, tuple(declarations), tuple(body), tuple(handlers))

    def declaration(self) -> n.Node:
        where = self.where()
        name = self.name()
        node = self.typed_declaration(where, name)
        self.semicolon()
        return node

    def typed_declaration(self, where: n.Where, name: str) -> n.Node:
        if self.accept("CURSOR"):
            self.expect("FOR")
            token = self.peek()
            following = self.peek(1)
            if (token is not None and token.token_type in (TokenType.VAR, TokenType.IDENTIFIER)
                    and (following is None or following.token_type == TokenType.SEMICOLON)):
                self.take()
                return n.CursorDecl(where, name, None, fold_name(token))
            return n.CursorDecl(where, name, self.sql_statement(), None)
        if self.accept("RESULTSET"):
            query = None
            if self.accept("DEFAULT") or self._assign_token():
                query = self.sql_statement()
            return n.ResultsetDecl(where, name, query)
        if self.accept("EXCEPTION"):
            code, message = -20000, ""
            if self.peek() is not None and self.peek().token_type == TokenType.L_PAREN:  # type: ignore[union-attr]
                self.take()
                text, start = self.text_until(",", semicolon=False)
                try:
                    code = int(text.replace(" ", ""))
                except ValueError as error:
                    raise syntax_error(self.text, start, "an exception number") from error
                self.take()  # ,
                token = self.take()
                if token.token_type not in _STRINGS:
                    raise syntax_error(self.text, token, "an exception message string")
                message = token.text
                self.expect(")")
            return n.ExceptionDecl(where, name, code, message)
        type_text = None
        if not (self.peek_word() == "DEFAULT" or self._at_assign()
                or self.peek() is None or self.peek().token_type == TokenType.SEMICOLON):  # type: ignore[union-attr]
            type_text = self.text_until("DEFAULT", ":=")[0]
        default = None
        if self.accept("DEFAULT") or self._assign_token():
            default = self.expr_until()
        return n.VarDecl(where, name, type_text, default)

    def _at_assign(self) -> bool:
        token = self.peek()
        return token is not None and token.token_type == TokenType.COLON_EQ

    def _assign_token(self) -> bool:
        if self._at_assign():
            self.pos += 1
            return True
        return False

    def statements(self, *stops: str) -> tuple[n.Node, ...]:
        body: list[n.Node] = []
        while True:
            token = self.peek()
            if token is None:
                raise syntax_error(self.text, None, " or ".join(stops))
            if token.token_type == TokenType.SEMICOLON:
                self.pos += 1
                continue
            if word(token) in stops:
                return tuple(body)
            body.append(self.statement())

    def statement(self) -> n.Node:
        token = self.peek()
        assert token is not None
        where = self.where(token)
        first = word(token)
        following = self.peek(1)
        if first == "DECLARE" or is_block_begin(self.tokens, self.pos):
            block = self.block()
            self.semicolon()
            return block
        if following is not None and following.token_type == TokenType.COLON_EQ:
            self.pos += 2
            value = self.expr_until()
            self.semicolon()
            return n.Assign(where, fold_name(token), value)
        handler = getattr(self, "_" + first.lower(), None) if first in _STATEMENT_WORDS else None
        if handler is not None:
            self.pos += 1
            node = handler(where)
            self.semicolon()
            return node
        if first == "NULL":
            self.pos += 1
            self.semicolon()
            return n.Null(where)
        if first == "EXECUTE" and self.peek_word(1) == "IMMEDIATE":
            self.pos += 2
            source = self.expr_until("USING")
            using: tuple[n.Expr, ...] = ()
            if self.accept("USING"):
                using = self._using()
            self.semicolon()
            return n.ExecuteImmediate(where, source, using)
        sql = self.sql_statement()
        self.semicolon()
        return n.Statement(where, sql)

    def _using(self) -> tuple[n.Expr, ...]:
        self.expect("(")
        values = [self.expr_until(",", ")", semicolon=False)]
        while self.accept(","):
            values.append(self.expr_until(",", ")", semicolon=False))
        self.expect(")")
        return tuple(values)

    def _label(self) -> str | None:
        token = self.peek()
        if token is None or token.token_type == TokenType.SEMICOLON:
            return None
        return self.name()

    def _let(self, where: n.Where) -> n.Node:
        return self.typed_declaration(where, self.name())

    def _if(self, where: n.Where) -> n.Node:
        branches = []
        condition = self.expr_until("THEN")
        self.expect("THEN")
        branches.append((condition, self.statements("ELSEIF", "ELSE", "END")))
        otherwise: tuple[n.Node, ...] = ()
        while True:
            if self.accept("ELSEIF"):
                condition = self.expr_until("THEN")
                self.expect("THEN")
                branches.append((condition, self.statements("ELSEIF", "ELSE", "END")))
            elif self.accept("ELSE"):
                otherwise = self.statements("END")
            else:
                break
        self.expect("END")
        self.expect("IF")
        return n.If(where, tuple(branches), otherwise)

    def _case(self, where: n.Where) -> n.Node:
        operand = None if self.peek_word() == "WHEN" else self.expr_until("WHEN")
        branches = []
        otherwise = None
        while self.accept("WHEN"):
            value = self.expr_until("THEN")
            self.expect("THEN")
            branches.append((value, self.statements("WHEN", "ELSE", "END")))
        if self.accept("ELSE"):
            otherwise = self.statements("END")
        self.expect("END")
        self.accept("CASE")
        return n.Case(where, operand, tuple(branches), otherwise)

    def _for(self, where: n.Where) -> n.Node:
        variable = self.name()
        self.expect("IN")
        reverse = self.accept("REVERSE")
        mark = self.pos
        self.text_until("TO", *_LOOP_BODY)
        has_to = self.peek_word() == "TO"
        self.pos = mark
        if has_to:
            start = self.expr_until("TO")
            self.expect("TO")
            stop = self.expr_until(*_LOOP_BODY)
            closer = word(self.expect(*_LOOP_BODY))
            body = self.statements("END")
            self.expect("END")
            self.expect("FOR" if closer == "DO" else "LOOP")
            return n.ForRange(where, variable, start, stop, reverse, body, self._label())
        source = self.name()
        closer = word(self.expect(*_LOOP_BODY))
        body = self.statements("END")
        self.expect("END")
        self.expect("FOR" if closer == "DO" else "LOOP")
        return n.ForCursor(where, variable, source, body, self._label())

    def _while(self, where: n.Where) -> n.Node:
        condition = self.expr_until(*_LOOP_BODY)
        closer = word(self.expect(*_LOOP_BODY))
        body = self.statements("END")
        self.expect("END")
        self.expect("WHILE" if closer == "DO" else "LOOP")
        return n.While(where, condition, body, self._label())

    def _repeat(self, where: n.Where) -> n.Node:
        body = self.statements("UNTIL")
        self.expect("UNTIL")
        until = self.expr_until("END")
        self.expect("END")
        self.expect("REPEAT")
        return n.Repeat(where, body, until, self._label())

    def _loop(self, where: n.Where) -> n.Node:
        body = self.statements("END")
        self.expect("END")
        self.expect("LOOP")
        return n.Loop(where, body, self._label())

    def _break(self, where: n.Where) -> n.Node:
        return n.Break(where, self._label())

    _exit = _break

    def _continue(self, where: n.Where) -> n.Node:
        return n.Continue(where, self._label())

    _iterate = _continue

    def _return(self, where: n.Where) -> n.Node:
        token = self.peek()
        if token is None or token.token_type == TokenType.SEMICOLON:
            return n.Return(where, None)
        if word(token) == "TABLE" and self.peek(1) is not None and \
                self.peek(1).token_type == TokenType.L_PAREN:  # type: ignore[union-attr]
            self.pos += 2
            if self.peek_word() == "RESULTSET_FROM_CURSOR":
                self.pos += 1
                self.expect("(")
                source = self.name()
                self.expect(")")
            else:
                source = self.name()
            self.expect(")")
            return n.ReturnTable(where, source)
        return n.Return(where, self.expr_until())

    def _raise(self, where: n.Where) -> n.Node:
        return n.Raise(where, self._label())

    def _open(self, where: n.Where) -> n.Node:
        name = self.name()
        using = self._using() if self.accept("USING") else ()
        return n.Open(where, name, using)

    def _fetch(self, where: n.Where) -> n.Node:
        name = self.name()
        self.expect("INTO")
        targets = [self.name()]
        while self.accept(","):
            targets.append(self.name())
        return n.Fetch(where, name, tuple(targets))

    def _close(self, where: n.Where) -> n.Node:
        return n.Close(where, self.name())


_STATEMENT_WORDS = {"LET", "IF", "CASE", "FOR", "WHILE", "REPEAT", "LOOP", "BREAK", "EXIT",
                    "CONTINUE", "ITERATE", "RETURN", "RAISE", "OPEN", "FETCH", "CLOSE"}


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_block(text: str) -> n.Block:
    """Parse ``[DECLARE ...] BEGIN ... [EXCEPTION ...] END [;]`` (the whole text)."""
    parser = _Parser(text)
    if not parser.tokens:
        raise TaskSqlError(CODE_SYNTAX, "SQL compilation error:\nEmpty SQL statement.", "42000")
    block = parser.block()
    parser.optional_semicolon()
    if parser.peek() is not None:
        raise syntax_error(text, parser.peek(), "the end of the block")
    return block


def is_block(text: str) -> bool:
    """Whether the text is a Snowflake Scripting block (starts with DECLARE or BEGIN ...)."""
    tokens = tokenize(text)
    if not tokens:
        return False
    return word(tokens[0]) == "DECLARE" or (
        is_block_begin(tokens, 0) and matching_end(tokens, 0) >= len(tokens) - 2)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_statement(text: str) -> n.Node:
    """One statement of a block (``EXECUTE IMMEDIATE ...``, ``CALL ...``), without its ``;``."""
    parser = _Parser(text.rstrip().rstrip(";") + ";")
    node = parser.statement()
    if parser.peek() is not None:
        raise syntax_error(parser.text, parser.peek(), "the end of the statement")
    return node
