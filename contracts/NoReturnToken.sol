// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {TokenCore} from "./TokenCore.sol";

/// 6-decimal token whose transfer, transferFrom and approve return no value,
/// as mainnet USDT does. Callers that insist on decoding a bool fail against it.
contract NoReturnToken is TokenCore {
    string public name;
    string public symbol;

    constructor(string memory name_, string memory symbol_) TokenCore(6) {
        name = name_;
        symbol = symbol_;
    }

    function transfer(address to, uint256 amount) external {
        _move(msg.sender, to, amount);
    }

    function transferFrom(address from, address to, uint256 amount) external {
        _spendAllowance(from, msg.sender, amount);
        _move(from, to, amount);
    }

    function approve(address spender, uint256 amount) external {
        _approve(msg.sender, spender, amount);
    }
}
