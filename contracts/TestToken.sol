// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {StandardToken} from "./TokenCore.sol";

/// Plain ERC-20 with string metadata. The world deploys it as USDC-like (6),
/// DAI-like (18) and WBTC-like (8) tokens.
contract TestToken is StandardToken {
    string public name;
    string public symbol;

    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        StandardToken(decimals_)
    {
        name = name_;
        symbol = symbol_;
    }
}
