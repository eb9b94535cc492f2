// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {Test} from "../test/Test.t.sol";
import {IRewardToken} from "../interfaces/IRewardToken.sol";
import {RewardToken} from "./RewardToken.sol";

contract RewardTokenTest is Test {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    RewardToken internal token;
    address internal deployer;
    address internal distributor;
    address internal stranger;
    address internal holder;

    function setUp() public {
        deployer = makeAddr("deployer");
        distributor = makeAddr("distributor");
        stranger = makeAddr("stranger");
        holder = makeAddr("holder");
        vm.prank(deployer);
        token = new RewardToken("SensorSeal Reward", "SSR");
    }

    function _bind() internal {
        vm.prank(deployer);
        token.setDistributor(distributor);
    }

    // ---------------------------------------------------------------- constructor

    function test_constructor_succeeds() public view {
        assertEq(keccak256(bytes(token.name())), keccak256("SensorSeal Reward"), "name");
        assertEq(keccak256(bytes(token.symbol())), keccak256("SSR"), "symbol");
        assertEq(token.decimals(), 18, "decimals");
        assertEq(token.totalSupply(), 0, "supply");
        assertEq(token.deployer(), deployer, "deployer");
        assertEq(token.distributor(), address(0), "no distributor yet");
        (, string memory name, string memory version, uint256 chainId, address verifyingContract, , ) = token
            .eip712Domain();
        assertEq(keccak256(bytes(name)), keccak256("SensorSeal Reward"), "permit domain name");
        assertEq(keccak256(bytes(version)), keccak256("1"), "permit domain version");
        assertEq(chainId, block.chainid, "permit domain chain");
        assertEq(verifyingContract, address(token), "permit domain contract");
    }

    // ---------------------------------------------------------------- setDistributor

    function test_setDistributor_succeeds() public {
        vm.expectEmit(address(token));
        emit IRewardToken.DistributorSet(distributor);
        _bind();
        assertEq(token.distributor(), distributor, "distributor");
    }

    function test_setDistributor_notDeployer_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardToken.RewardTokenUnauthorizedBinder.selector, stranger));
        vm.prank(stranger);
        token.setDistributor(stranger);
    }

    function test_setDistributor_twice_reverts() public {
        _bind();
        vm.expectRevert(abi.encodeWithSelector(IRewardToken.RewardTokenDistributorAlreadySet.selector, distributor));
        vm.prank(deployer);
        token.setDistributor(stranger);
        assertEq(token.distributor(), distributor, "unchanged");
    }

    function test_setDistributor_zero_reverts() public {
        vm.expectRevert(IRewardToken.RewardTokenZeroDistributor.selector);
        vm.prank(deployer);
        token.setDistributor(address(0));
    }

    // ---------------------------------------------------------------- mint

    function test_mint_byDistributor_succeeds() public {
        _bind();
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(0), holder, 42);
        vm.prank(distributor);
        token.mint(holder, 42);
        assertEq(token.balanceOf(holder), 42, "balance");
        assertEq(token.totalSupply(), 42, "supply");
    }

    function test_mint_beforeDistributorSet_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardToken.RewardTokenUnauthorizedMinter.selector, deployer));
        vm.prank(deployer);
        token.mint(holder, 1);
        vm.expectRevert(abi.encodeWithSelector(IRewardToken.RewardTokenUnauthorizedMinter.selector, distributor));
        vm.prank(distributor);
        token.mint(holder, 1);
    }

    function test_mint_byDeployer_reverts() public {
        _bind();
        vm.expectRevert(abi.encodeWithSelector(IRewardToken.RewardTokenUnauthorizedMinter.selector, deployer));
        vm.prank(deployer);
        token.mint(deployer, 1);
    }

    function test_mint_toZero_reverts() public {
        _bind();
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(distributor);
        token.mint(address(0), 1);
    }

    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_mint_onlyDistributor(address caller, address to, uint256 amount) public {
        _bind();
        vm.assume(to != address(0));
        amount = bound(amount, 0, type(uint128).max);
        if (caller == distributor) {
            vm.prank(caller);
            token.mint(to, amount);
            assertEq(token.totalSupply(), amount, "minted");
        } else {
            vm.expectRevert(abi.encodeWithSelector(IRewardToken.RewardTokenUnauthorizedMinter.selector, caller));
            vm.prank(caller);
            token.mint(to, amount);
            assertEq(token.totalSupply(), 0, "nothing minted");
        }
    }

    // ---------------------------------------------------------------- supply cap and mintClaim

    function test_mint_aboveUint128Supply_reverts() public {
        _bind();
        vm.startPrank(distributor);
        token.mint(holder, type(uint128).max);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardToken.RewardTokenSupplyOverflow.selector,
                uint256(type(uint128).max) + 1,
                type(uint128).max
            )
        );
        token.mint(stranger, 1);
        vm.stopPrank();
    }

    function test_mintClaim_recordsAndMints_succeeds() public {
        _bind();
        vm.startPrank(distributor);
        vm.expectEmit(address(token));
        emit IERC20.Transfer(address(0), holder, 70);
        (uint256 previous, uint256 supply) = token.mintClaim(holder, holder, 70);
        assertEq(previous, 0, "nothing claimed before");
        assertEq(supply, 70, "supply");
        (previous, supply) = token.mintClaim(holder, stranger, 100);
        vm.stopPrank();
        assertEq(previous, 70, "previous");
        assertEq(supply, 100, "supply after");
        assertEq(token.balanceOf(holder), 70, "claimant paid first");
        assertEq(token.balanceOf(stranger), 30, "recipient paid the rest");
        assertEq(token.claimedOf(holder), 100, "claimed recorded for the claimant");
        assertEq(token.claimedOf(stranger), 0, "recipient has no claim record");
    }

    function test_mintClaim_notAbovePrevious_paysNothing() public {
        _bind();
        vm.startPrank(distributor);
        token.mintClaim(holder, holder, 50);
        (uint256 previous, uint256 supply) = token.mintClaim(holder, holder, 50);
        vm.stopPrank();
        assertEq(previous, 50, "previous");
        assertEq(supply, 50, "nothing minted");
        assertEq(token.balanceOf(holder), 50, "balance unchanged");
    }

    function test_mintClaim_notDistributor_reverts() public {
        _bind();
        vm.expectRevert(abi.encodeWithSelector(IRewardToken.RewardTokenUnauthorizedMinter.selector, stranger));
        vm.prank(stranger);
        token.mintClaim(stranger, stranger, 1);
    }

    function test_mintClaim_cumulativeAboveUint128_reverts() public {
        _bind();
        uint256 cumulative = uint256(type(uint128).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IRewardToken.RewardTokenSupplyOverflow.selector, cumulative, type(uint128).max)
        );
        vm.prank(distributor);
        token.mintClaim(holder, holder, cumulative);
    }

    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_transfer_packedBalancesConserveSupply(uint128 minted, uint128 sent, address to) public {
        vm.assume(to != address(0) && to != holder);
        _bind();
        vm.prank(distributor);
        token.mintClaim(holder, holder, minted);
        sent = uint128(bound(sent, 0, minted));
        vm.prank(holder);
        token.transfer(to, sent);
        assertEq(token.balanceOf(holder) + token.balanceOf(to), minted, "conserved");
        assertEq(token.totalSupply(), minted, "supply");
        assertEq(token.claimedOf(holder), minted, "claim record untouched by transfers");
        vm.prank(holder);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, holder, minted - sent, uint256(minted) - sent + 1)
        );
        token.transfer(to, uint256(minted) - sent + 1);
    }

    // ---------------------------------------------------------------- permit (ERC-2612)

    function test_permit_succeeds() public {
        uint256 ownerKey = 0xA11CE;
        address owner = vm.addr(ownerKey);
        _bind();
        vm.prank(distributor);
        token.mint(owner, 100);

        uint256 deadline = block.timestamp + 1 hours;
        bytes32 digest = _permitDigest(owner, holder, 60, 0, deadline);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, digest);
        vm.prank(stranger); // anyone relays the permit
        token.permit(owner, holder, 60, deadline, v, r, s);
        assertEq(token.allowance(owner, holder), 60, "allowance");
        assertEq(token.nonces(owner), 1, "nonce used");

        vm.prank(holder);
        token.transferFrom(owner, holder, 60);
        assertEq(token.balanceOf(holder), 60, "moved");
    }

    function test_permit_expired_reverts() public {
        uint256 ownerKey = 0xA11CE;
        address owner = vm.addr(ownerKey);
        uint256 deadline = block.timestamp;
        bytes32 digest = _permitDigest(owner, holder, 1, 0, deadline);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, digest);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(owner, holder, 1, deadline, v, r, s);
    }

    function _permitDigest(
        address owner,
        address spender,
        uint256 value,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        bytes32 separator = keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH,
                keccak256("SensorSeal Reward"),
                keccak256("1"),
                block.chainid,
                address(token)
            )
        );
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, nonce, deadline));
        return keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }
}

