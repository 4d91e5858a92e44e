//! A limit on operator chains, checked on a SQL statement's tokens before
//! sqlparser builds its tree.

use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::cursor::is_word;
use crate::error::ParseError;

/// Operators in a row (at one parenthesis level) a SQL expression may have:
/// `1 + 1 + ...` makes a tree that deep, and planning walks it recursively.
/// Far beyond any written query; a generated one that long gets an error
/// instead of overflowing the stack (found by the script fuzzer).
pub const MAX_OPERATORS_IN_A_ROW: usize = 20_000;

pub(crate) fn check(tokens: &[TokenWithSpan]) -> Result<(), ParseError> {
    // Operators counted per open parenthesis level.
    let mut levels: Vec<usize> = vec![0];
    for t in tokens {
        let binary = matches!(
            t.token,
            Token::Plus
                | Token::Minus
                | Token::Mul
                | Token::Div
                | Token::Mod
                | Token::StringConcat
                | Token::Eq
                | Token::Neq
                | Token::Lt
                | Token::Gt
                | Token::LtEq
                | Token::GtEq
        ) || is_word(&t.token, "AND")
            || is_word(&t.token, "OR");
        match t.token {
            Token::LParen => levels.push(0),
            Token::RParen if levels.len() > 1 => {
                levels.pop();
            }
            _ if binary => {
                let n = levels.last_mut().expect("a level");
                *n += 1;
                if *n > MAX_OPERATORS_IN_A_ROW {
                    return Err(ParseError::new(
                        format!(
                            "expression too long: more than {MAX_OPERATORS_IN_A_ROW} operators in a row; split it into parts (subqueries, columns of a CTE)"
                        ),
                        t.span,
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
