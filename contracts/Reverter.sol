// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Fails in each way the EVM can, so revert decoding can be tested against
/// real return data: Error(string), Panic(uint256), a custom error and an
/// empty revert. Every function writes `calls` first, so each one is a real
/// state-changing transaction whose effect is rolled back on failure.
contract Reverter {
    error InsufficientThing(uint256 have, uint256 want);

    event Succeeded(address indexed caller, uint256 value);
    event Received(address indexed from, uint256 amount);

    uint256 public calls;

    /// Error(string), selector 0x08c379a0.
    function revertWithReason(string calldata reason) external {
        calls += 1;
        require(false, reason);
    }

    /// Panic(0x12): division by zero when b == 0.
    function panicDivide(uint256 a, uint256 b) external returns (uint256) {
        calls += 1;
        return a / b;
    }

    /// Panic(0x11): checked arithmetic overflow when a + b > 2**256 - 1.
    function panicOverflow(uint256 a, uint256 b) external returns (uint256) {
        calls += 1;
        return a + b;
    }

    /// Panic(0x01): failed assert.
    function panicAssert() external {
        calls += 1;
        assert(false);
    }

    /// InsufficientThing(have, want), selector 0x2067310d.
    function revertWithCustomError(uint256 have, uint256 want) external {
        calls += 1;
        revert InsufficientThing(have, want);
    }

    /// Empty return data.
    function revertBare() external {
        calls += 1;
        revert();
    }

    function succeed(uint256 value) external returns (uint256) {
        calls += 1;
        emit Succeeded(msg.sender, value);
        return value;
    }

    function deposit() external payable {
        emit Received(msg.sender, msg.value);
    }

    receive() external payable {
        emit Received(msg.sender, msg.value);
    }
}
