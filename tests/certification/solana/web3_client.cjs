// Drives a Solana cluster with @solana/web3.js 1.x and @solana/spl-token 0.4, the way a bot
// does, and prints one JSON document of what it saw. Usage: node web3_client.cjs RPC_URL
// The PubSub endpoint is left to web3.js's default (the HTTP port + 1).
"use strict";

const web3 = require("@solana/web3.js");
const spl = require("@solana/spl-token");
const bs58 = require("bs58");

const url = process.argv[2];
const connection = new web3.Connection(url, "confirmed");
const out = { steps: [] };

function step(name, value) {
  out.steps.push(name);
  out[name] = value;
}

async function rpc(method, params) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

function withTimeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function airdrop(who, sol) {
  const signature = await connection.requestAirdrop(who, sol * web3.LAMPORTS_PER_SOL);
  const latest = await connection.getLatestBlockhash();
  const result = await connection.confirmTransaction({ signature, ...latest }, "confirmed");
  if (result.value.err) throw new Error(`airdrop failed: ${JSON.stringify(result.value.err)}`);
  return signature;
}

async function tokenFlow(payer, recipient, programId, label) {
  const mint = await spl.createMint(
    connection, payer, payer.publicKey, null, 6, web3.Keypair.generate(), undefined, programId,
  );
  const source = await spl.getOrCreateAssociatedTokenAccount(
    connection, payer, mint, payer.publicKey, false, "confirmed", undefined, programId,
  );
  const destination = await spl.getOrCreateAssociatedTokenAccount(
    connection, payer, mint, recipient, false, "confirmed", undefined, programId,
  );
  await spl.mintTo(connection, payer, mint, source.address, payer, 5_000_000n, [], undefined, programId);
  const signature = await spl.transferChecked(
    connection, payer, source.address, mint, destination.address, payer, 1_250_000n, 6, [],
    undefined, programId,
  );
  const parsed = await connection.getParsedTransaction(signature, {
    commitment: "confirmed",
    maxSupportedTransactionVersion: 0,
  });
  const plain = await connection.getTransaction(signature, {
    commitment: "confirmed",
    maxSupportedTransactionVersion: 0,
  });
  const owned = await connection.getParsedTokenAccountsByOwner(recipient, { programId });
  const mintInfo = await spl.getMint(connection, mint, "confirmed", programId);
  const account = await spl.getAccount(connection, destination.address, "confirmed", programId);
  const instruction = parsed.transaction.message.instructions.find((ix) => "parsed" in ix);
  step(label, {
    mint: mint.toBase58(),
    supply: mintInfo.supply.toString(),
    destinationAmount: account.amount.toString(),
    parsedProgram: instruction.program,
    parsedType: instruction.parsed.type,
    parsedAmount: instruction.parsed.info.tokenAmount.amount,
    preToken: parsed.meta.preTokenBalances.map((b) => b.uiTokenAmount.amount),
    postToken: parsed.meta.postTokenBalances.map((b) => b.uiTokenAmount.amount),
    fee: plain.meta.fee,
    feePaid: plain.meta.preBalances[0] - plain.meta.postBalances[0],
    version: plain.version,
    blockTime: plain.blockTime,
    ownedAccounts: owned.value.map((a) => ({
      program: a.account.data.program,
      amount: a.account.data.parsed.info.tokenAmount.amount,
    })),
  });
}

async function subscriptionsPerCommitment(payer) {
  const seen = [];
  const recipient = web3.Keypair.generate().publicKey;
  const tx = new web3.Transaction().add(
    web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports: 1_000_000 }),
  );
  const latest = await connection.getLatestBlockhash("confirmed");
  tx.recentBlockhash = latest.blockhash;
  tx.feePayer = payer.publicKey;
  tx.sign(payer);
  const sig58 = bs58.encode(tx.signature);
  const fired = {};
  const done = [];
  for (const level of ["processed", "confirmed", "finalized"]) {
    done.push(
      new Promise((resolve) => {
        connection.onSignature(sig58, (result) => {
          fired[level] = { err: result.err };
          seen.push(level);
          resolve();
        }, level);
      }),
    );
  }
  const accountSeen = new Promise((resolve) => {
    const id = connection.onAccountChange(recipient, (info) => {
      connection.removeAccountChangeListener(id);
      resolve(info.lamports);
    }, { commitment: "confirmed" });
  });
  const logsSeen = new Promise((resolve) => {
    const id = connection.onLogs(recipient, (logs) => {
      connection.removeOnLogsListener(id);
      resolve(logs.signature);
    }, "processed");
  });
  const slots = [];
  const slotId = connection.onSlotChange((info) => slots.push(info.slot));
  await new Promise((r) => setTimeout(r, 200)); // let the subscriptions reach the server
  await connection.sendRawTransaction(tx.serialize());
  await withTimeout(Promise.all(done), 20000, "signature subscriptions");
  const lamports = await withTimeout(accountSeen, 10000, "account subscription");
  const logged = await withTimeout(logsSeen, 10000, "logs subscription");
  await connection.removeSlotChangeListener(slotId);
  step("subscriptions", {
    order: seen,
    fired,
    accountLamports: lamports,
    logsSignature: logged,
    signature: sig58,
    slotsIncrease: slots.length > 1 && slots.every((s, i) => i === 0 || s > slots[i - 1]),
  });
}

function transferTx(payer, lamports, blockhash) {
  const tx = new web3.Transaction().add(
    web3.SystemProgram.transfer({
      fromPubkey: payer.publicKey,
      toPubkey: web3.Keypair.generate().publicKey,
      lamports,
    }),
  );
  tx.recentBlockhash = blockhash;
  tx.feePayer = payer.publicKey;
  tx.sign(payer);
  return tx;
}

async function outcomeOf(wait) {
  try {
    const result = await withTimeout(wait, 20000, "confirmTransaction");
    return result.value.err === null ? "confirmed" : "failed";
  } catch (e) {
    return e instanceof web3.TransactionExpiredBlockheightExceededError ? "expired" : `error: ${e.message}`;
  }
}

async function expiry(payer) {
  // Lost: the cluster drops it, so it can only expire.
  const first = await connection.getLatestBlockhash("confirmed");
  const lost = transferTx(payer, 7_000_000, first.blockhash);
  await rpc("chainops_dropNext", [1]);
  const lostSig = await connection.sendRawTransaction(lost.serialize(), { skipPreflight: true });
  const lostWait = outcomeOf(connection.confirmTransaction({ signature: lostSig, ...first }, "confirmed"));
  await new Promise((r) => setTimeout(r, 300));
  await rpc("chainops_advanceBlocks", [200]);
  const lostOutcome = await lostWait;
  // Landed late in its blockhash's life, which then ends at once: still confirmed.
  const second = await connection.getLatestBlockhash("confirmed");
  const late = transferTx(payer, 5_000_000, second.blockhash);
  const lateSig = bs58.encode(late.signature);
  const lateWait = outcomeOf(connection.confirmTransaction({ signature: lateSig, ...second }, "confirmed"));
  await new Promise((r) => setTimeout(r, 300));
  await rpc("chainops_advanceBlocks", [140]);
  await connection.sendRawTransaction(late.serialize(), { skipPreflight: true });
  await rpc("chainops_advanceBlocks", [200]);
  step("expiry", { lost: lostOutcome, landed: await lateWait });
}

async function versioned(payer) {
  const latest = await connection.getLatestBlockhash("confirmed");
  const message = new web3.TransactionMessage({
    payerKey: payer.publicKey,
    recentBlockhash: latest.blockhash,
    instructions: [
      web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: web3.Keypair.generate().publicKey, lamports: 3_000_000 }),
    ],
  }).compileToV0Message();
  const tx = new web3.VersionedTransaction(message);
  tx.sign([payer]);
  const signature = await connection.sendTransaction(tx);
  await connection.confirmTransaction({ signature, ...latest }, "confirmed");
  const got = await connection.getTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
  const simulated = await connection.simulateTransaction(tx, { replaceRecentBlockhash: true, sigVerify: false });
  let again;
  try {
    await connection.sendTransaction(tx);
    again = "accepted";
  } catch (e) {
    again = e.message;
  }
  step("versioned", {
    version: got.version,
    transferred: got.meta.postBalances[1] - got.meta.preBalances[1],
    replacedBlockhash: simulated.value.replacementBlockhash !== null && simulated.value.replacementBlockhash !== undefined,
    simulationErr: simulated.value.err,
    resend: again,
  });
}

async function nodeReads(payer) {
  const slot = await connection.getSlot("confirmed");
  let refused = "accepted";
  try {
    await connection.getSlot({ commitment: "confirmed", minContextSlot: slot + 1_000_000 });
  } catch (e) {
    refused = { code: e.code, data: e.data, message: e.message };
  }
  const atFloor = await connection.getBalanceAndContext(payer.publicKey, {
    commitment: "confirmed",
    minContextSlot: slot,
  });
  await rpc("chainops_advanceBlocks", [1200]); // at least one whole 60-second sample
  const samples = await connection.getRecentPerformanceSamples();
  const minimum = await connection.getStakeMinimumDelegation();
  const votes = await connection.getVoteAccounts();
  const governor = await connection.getInflationGovernor();
  const rate = await connection.getInflationRate();
  const leaders = await connection.getSlotLeaders(0, 3);
  const leader = await connection.getSlotLeader();
  step("nodeReads", {
    slot,
    refused,
    floorContextSlot: atFloor.context.slot,
    samples,
    transactionCount: await connection.getTransactionCount("processed"),
    stakeMinimum: minimum.value,
    votes: { current: votes.current.length, delinquent: votes.delinquent.length },
    governor,
    rateTotal: rate.total,
    leaders: leaders.map((k) => k.toBase58()),
    leader,
  });
}

async function main() {
  const payer = web3.Keypair.generate();
  await airdrop(payer.publicKey, 100);
  step("airdrop", { balance: await connection.getBalance(payer.publicKey, "confirmed") });
  const recipient = web3.Keypair.generate();
  const sig = await web3.sendAndConfirmTransaction(
    connection,
    new web3.Transaction().add(
      web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient.publicKey, lamports: web3.LAMPORTS_PER_SOL }),
    ),
    [payer],
  );
  step("sendAndConfirm", {
    signature: sig,
    recipientBalance: await connection.getBalance(recipient.publicKey, "confirmed"),
  });
  await tokenFlow(payer, recipient.publicKey, spl.TOKEN_PROGRAM_ID, "token");
  await tokenFlow(payer, recipient.publicKey, spl.TOKEN_2022_PROGRAM_ID, "token2022");
  await versioned(payer);
  await subscriptionsPerCommitment(payer);
  const unfunded = web3.Keypair.generate();
  try {
    await web3.sendAndConfirmTransaction(
      connection,
      new web3.Transaction().add(
        web3.SystemProgram.transfer({ fromPubkey: unfunded.publicKey, toPubkey: recipient.publicKey, lamports: 1 }),
      ),
      [unfunded],
    );
    step("unfunded", "accepted");
  } catch (e) {
    step("unfunded", e.message);
  }
  await expiry(payer);
  try {
    await nodeReads(payer);
  } catch (e) {
    step("nodeReads", { error: e.message });
  }
}

main()
  .then(() => {
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  })
  .catch((e) => {
    out.error = String(e && e.stack ? e.stack : e);
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(1);
  });
